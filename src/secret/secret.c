/* Project secrets: providers and redaction (see secret.h). */
#define _GNU_SOURCE
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/subprocess.h"
#include "util/util.h"
#include "banned.h"

#define KEY_LEN 32
#define VALUE_CAP (64u << 10)

struct secret_store {
	pthread_mutex_t mu;
	char *statedir, *workdir;
	int timeout_ms;
	bool have_key;
	unsigned char key[KEY_LEN];
	struct strv names;   /* "project/name" */
	struct strv values;  /* the value of names.v[i] */
};

struct secret_store *secret_store_new(const char *statedir, const char *workdir, int timeout_ms)
{
	struct secret_store *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->statedir = xstrdup(statedir ? statedir : ".cratis");
	s->workdir = xstrdup(workdir ? workdir : ".");
	s->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	return s;
}

void secret_store_free(struct secret_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->values.n; i++)
		explicit_bzero(s->values.v[i], strlen(s->values.v[i]));
	explicit_bzero(s->key, sizeof(s->key));
	strv_release(&s->names);
	strv_release(&s->values);
	free(s->statedir);
	free(s->workdir);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static void chop_newline(struct buf *b)
{
	if (b->len && b->ptr[b->len - 1] == '\n')
		b->ptr[--b->len] = '\0';
	if (b->len && b->ptr[b->len - 1] == '\r')
		b->ptr[--b->len] = '\0';
}

static int read_file(struct secret_store *s, struct buf *b, const char *name, const char *path)
{
	char *full = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", s->workdir, path);
	int rc = CRATIS_OK;
	int fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = error_set(errno == ENOENT ? CRATIS_ENOTFOUND : CRATIS_EIO, "secret '%s': cannot read file '%s': %s",
		               name, path, strerror(errno));
		goto out_free;
	}
	char chunk[4096];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (b->len + (size_t)n > VALUE_CAP) {
			rc = error_set(CRATIS_EINVAL, "secret '%s': file '%s' is larger than %u bytes", name, path, VALUE_CAP);
			break;
		}
		buf_add(b, chunk, (size_t)n);
	}
	explicit_bzero(chunk, sizeof(chunk));
	if (n < 0 && !rc)
		rc = error_set(CRATIS_EIO, "secret '%s': cannot read file '%s': %s", name, path, strerror(errno));
	close(fd);
out_free:
	free(full);
	return rc;
}

static int run_command(struct secret_store *s, struct buf *b, const char *name, const json_t *argv)
{
	size_t n = json_array_size(argv);
	const char **av = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		av[i] = json_string_value(json_array_get(argv, i));
		if (!av[i]) {
			free(av);
			return error_set(CRATIS_EINVAL, "secret '%s': command[%zu] is not a string", name, i);
		}
	}
	struct proc_spec ps = { .argv = av, .workdir = s->workdir, .timeout_ms = s->timeout_ms, .out_cap = VALUE_CAP };
	struct proc_result r;
	int rc = proc_run(&ps, &r);
	free(av);
	if (rc) {
		/* could not start: the message names the program, not any output */
		proc_result_release(&r);
		return error_set(CRATIS_EIO, "secret '%s': cannot run command '%s': %s", name,
		                 json_string_value(json_array_get(argv, 0)), cratis_error_last()->message);
	}
	if (r.timed_out)
		rc = error_set(CRATIS_EIO, "secret '%s': command '%s' did not finish within %d ms", name,
		               json_string_value(json_array_get(argv, 0)), s->timeout_ms);
	else if (r.exit_code)
		rc = error_set(CRATIS_EIO, "secret '%s': command '%s' exited with status %d (its output is not shown)", name,
		               json_string_value(json_array_get(argv, 0)), r.exit_code);
	else if (r.out_truncated)
		rc = error_set(CRATIS_EINVAL, "secret '%s': command output is larger than %u bytes", name, VALUE_CAP);
	else
		buf_add(b, r.out.ptr, r.out.len);
	explicit_bzero(r.out.ptr, r.out.len);
	explicit_bzero(r.err.ptr, r.err.len);
	proc_result_release(&r);
	return rc;
}

/* Read the value of definition def into b; the last error set on failure. */
static int provide(struct secret_store *s, struct buf *b, const char *name, const json_t *def)
{
	const json_t *env = json_object_get(def, "env"), *file = json_object_get(def, "file"),
	             *cmd = json_object_get(def, "command");
	if (!json_is_object(def) || (env != NULL) + (file != NULL) + (cmd != NULL) != 1)
		return error_set(CRATIS_EINVAL, "secret '%s': expected exactly one of {env: VAR}, {file: PATH} or {command: [argv...]}", name);
	if (env) {
		if (!json_is_string(env) || !*json_string_value(env))
			return error_set(CRATIS_EINVAL, "secret '%s': env: expected the name of an environment variable", name);
		const char *v = getenv(json_string_value(env));
		if (!v)
			return error_set(CRATIS_ENOTFOUND, "secret '%s': environment variable '%s' is not set", name, json_string_value(env));
		buf_adds(b, v);
		return CRATIS_OK;
	}
	if (file) {
		if (!json_is_string(file) || !*json_string_value(file))
			return error_set(CRATIS_EINVAL, "secret '%s': file: expected a path", name);
		int rc = read_file(s, b, name, json_string_value(file));
		if (!rc)
			chop_newline(b);
		return rc;
	}
	if (!json_is_array(cmd) || !json_array_size(cmd))
		return error_set(CRATIS_EINVAL, "secret '%s': command: expected a sequence of strings (argv, no shell)", name);
	int rc = run_command(s, b, name, cmd);
	if (!rc)
		chop_newline(b);
	return rc;
}

static bool valid_utf8(const char *p, size_t len)
{
	json_t *j = json_stringn(p, len);
	bool ok = j != NULL;
	json_decref(j);
	return ok;
}

int secret_store_get(struct secret_store *s, char **out, const json_t *defs, const char *project,
                     const char *name)
{
	*out = NULL;
	char *key = xasprintf("%s/%s", project ? project : "", name);
	int rc = CRATIS_OK;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->names.n; i++) {
		if (!strcmp(s->names.v[i], key)) {
			*out = xstrdup(s->values.v[i]);
			goto out_unlock;
		}
	}
	const json_t *def = json_is_object(defs) ? json_object_get(defs, name) : NULL;
	if (!def) {
		struct buf names = BUF_INIT;
		const char *k;
		json_t *v;
		if (json_is_object(defs))
			json_object_foreach((json_t *)defs, k, v)
				buf_addf(&names, "%s%s", names.len ? ", " : "", k);
		rc = error_set(CRATIS_ENOTFOUND, "unknown secret '%s' (declared in Project/%s spec.secrets: %s)", name,
		               project ? project : "?", names.len ? names.ptr : "none");
		buf_release(&names);
		goto out_unlock;
	}
	struct buf b = BUF_INIT;
	rc = provide(s, &b, name, def);
	if (!rc && !b.len)
		rc = error_set(CRATIS_EINVAL, "secret '%s': the value is empty", name);
	else if (!rc && (memchr(b.ptr, '\0', b.len) || !valid_utf8(b.ptr, b.len)))
		rc = error_set(CRATIS_EINVAL, "secret '%s': the value is not valid UTF-8 text", name);
	if (!rc) {
		strv_push(&s->names, key);
		strv_push(&s->values, b.ptr);
		*out = xstrdup(b.ptr);
	}
	explicit_bzero(b.ptr, b.len);
	buf_release(&b);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	free(key);
	return rc;
}

/* Under s->mu: read or create statedir/secret.key. */
static int load_key(struct secret_store *s)
{
	if (s->have_key)
		return CRATIS_OK;
	char *path = xasprintf("%s/secret.key", s->statedir);
	int rc = CRATIS_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		unsigned char k[KEY_LEN];
		if (getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k)) {
			rc = error_set(CRATIS_EIO, "cannot create the secret hash key: no random bytes: %s", strerror(errno));
			goto out_free;
		}
		/* a new file only: two runs racing both end with the winner's key */
		char *tmp = xasprintf("%s/secret.key.%ld", s->statedir, (long)getpid());
		int w = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		bool ok = w >= 0 && write(w, k, sizeof(k)) == (ssize_t)sizeof(k) && fsync(w) == 0;
		if (w >= 0)
			close(w);
		explicit_bzero(k, sizeof(k));
		if (!ok || (link(tmp, path) != 0 && errno != EEXIST)) {
			rc = error_set(CRATIS_EIO, "cannot create '%s': %s", path, strerror(errno));
			unlink(tmp);
			free(tmp);
			goto out_free;
		}
		unlink(tmp);
		free(tmp);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		rc = error_set(CRATIS_EIO, "cannot read '%s': %s", path, strerror(errno));
		goto out_free;
	}
	ssize_t n = read(fd, s->key, sizeof(s->key));
	close(fd);
	if (n != (ssize_t)sizeof(s->key)) {
		rc = error_set(CRATIS_EIO, "'%s': expected %d bytes of key (remove it to make a new one; every secret then shows as changed)",
		               path, KEY_LEN);
		goto out_free;
	}
	s->have_key = true;
out_free:
	free(path);
	return rc;
}

int secret_store_redact(struct secret_store *s, char **out, const char *value, size_t len)
{
	*out = NULL;
	pthread_mutex_lock(&s->mu);
	int rc = load_key(s);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	if (!rc && !HMAC(EVP_sha256(), s->key, KEY_LEN, (const unsigned char *)value, len, mac, &maclen))
		rc = error_set(CRATIS_ERROR, "cannot compute HMAC-SHA256");
	pthread_mutex_unlock(&s->mu);
	if (rc)
		return rc;
	struct buf b = BUF_INIT;
	buf_adds(&b, SECRET_REDACTED " hmac-sha256:");
	for (unsigned int i = 0; i < maclen; i++)
		buf_addf(&b, "%02x", mac[i]);
	*out = buf_detach(&b);
	return CRATIS_OK;
}

void secret_store_remember(struct secret_store *s, const char *value)
{
	if (!value || strlen(value) < SECRET_SCRUB_MIN)
		return;
	pthread_mutex_lock(&s->mu);
	if (!strv_has(&s->values, value)) {
		strv_push(&s->names, "");  /* found by value only */
		strv_push(&s->values, value);
	}
	pthread_mutex_unlock(&s->mu);
}

char *secret_store_scrub(struct secret_store *s, const char *text)
{
	if (!text)
		return NULL;
	char *cur = NULL;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->values.n; i++) {
		const char *v = s->values.v[i];
		size_t vl = strlen(v);
		const char *src = cur ? cur : text;
		if (vl < SECRET_SCRUB_MIN || !strstr(src, v))
			continue;
		struct buf b = BUF_INIT;
		for (const char *p = src, *hit; *p; p = hit + vl) {
			hit = strstr(p, v);
			if (!hit) {
				buf_adds(&b, p);
				break;
			}
			buf_add(&b, p, (size_t)(hit - p));
			buf_adds(&b, SECRET_REDACTED);
		}
		if (cur)
			explicit_bzero(cur, strlen(cur));
		free(cur);
		cur = buf_detach(&b);
	}
	pthread_mutex_unlock(&s->mu);
	return cur;
}
