/* Project secrets: providers and redaction (see secret.h). */
#define _GNU_SOURCE
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/buf.h"
#include "util/dynlib.h"
#include "util/error.h"
#include "util/subprocess.h"
#include "util/util.h"
#include "banned.h"

#define KEY_LEN 32

/* ---- libcrypto, opened on first use (src/util/dynlib.h): HMAC-SHA256 for the keyed hash,
 * AES-256-GCM for sealed outputs, base64 for their text form ---- */

#define CRYPTO_FUNCTIONS(X) \
	X(HMAC) X(EVP_sha256) X(EVP_aes_256_gcm) X(EVP_CIPHER_CTX_new) X(EVP_CIPHER_CTX_free) \
	X(EVP_CIPHER_CTX_ctrl) X(EVP_EncryptInit_ex) X(EVP_EncryptUpdate) X(EVP_EncryptFinal_ex) \
	X(EVP_DecryptInit_ex) X(EVP_DecryptUpdate) X(EVP_DecryptFinal_ex) X(EVP_EncodeBlock) \
	X(EVP_DecodeBlock) X(EVP_Digest)

/* Pointers typed from the OpenSSL headers (crypto->HMAC is HMAC). */
struct crypto_api {
#define CRYPTO_MEMBER(name) __typeof__(name) *name;
	CRYPTO_FUNCTIONS(CRYPTO_MEMBER)
#undef CRYPTO_MEMBER
};

/* Filled once by crypto_load (under crypto_once) and only read after. */
static struct {
	struct dynlib lib;
	struct crypto_api fn;
} crypto_lib;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;

static void crypto_load(void)
{
	if (dynlib_open(&crypto_lib.lib, "libcrypto", CRATIS_LIBCRYPTO_SONAME, CRATIS_LIBCRYPTO_PACKAGE))
		return;
#define CRYPTO_RESOLVE(name) crypto_lib.fn.name = (__typeof__(crypto_lib.fn.name))dynlib_sym(&crypto_lib.lib, #name);
	CRYPTO_FUNCTIONS(CRYPTO_RESOLVE)
#undef CRYPTO_RESOLVE
}

/* libcrypto's functions, loading it on the first call; NULL with the last error set
 * (CRATIS_ENOTFOUND naming the library and its Debian package) when it cannot be loaded. */
static const struct crypto_api *crypto_api(void)
{
	return dynlib_load_once(&crypto_once, crypto_load, &crypto_lib.lib) ? NULL : &crypto_lib.fn;
}

int secret_sha256_hex(char out[65], const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	static const unsigned char empty[1];
	const struct crypto_api *c = crypto_api();
	if (!c)
		return cratis_error_last()->status;
	unsigned char d[32];
	unsigned int n = 0;
	if (c->EVP_Digest(len ? data : empty, len, d, &n, c->EVP_sha256(), NULL) != 1 || n != 32)
		return error_set(CRATIS_ERROR, "libcrypto: SHA-256 failed");
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
	return CRATIS_OK;
}

/* HMAC-SHA256 of data under key (RFC 2104). Returns CRATIS_OK or the last error's status. */
static int hmac_sha256(unsigned char out[32], const unsigned char *key, size_t klen, const void *data, size_t len)
{
	const struct crypto_api *c = crypto_api();
	if (!c)
		return cratis_error_last()->status;
	unsigned int n = 32;
	static const unsigned char empty[1];
	if (!c->HMAC(c->EVP_sha256(), key, (int)klen, len ? data : empty, len, out, &n) || n != 32)
		return error_set(CRATIS_ERROR, "libcrypto: HMAC-SHA256 failed");
	return CRATIS_OK;
}

int secret_hmac_sha256(unsigned char out[32], const void *key, size_t klen, const void *data, size_t len)
{
	return hmac_sha256(out, key, klen, data, len);
}

#define VALUE_CAP (64u << 10)

struct secret_store {
	pthread_mutex_t mu;
	char *statedir, *workdir;
	char *key_file;      /* given by the user: read, never created; NULL: statedir/secret.key */
	int timeout_ms;
	bool have_key;
	unsigned char key[KEY_LEN];
	struct strv names;   /* "project/name" */
	struct strv values;  /* the value of names.v[i] */
};

struct secret_store *secret_store_new(const char *statedir, const char *workdir, int timeout_ms,
                                      const char *key_file)
{
	struct secret_store *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->statedir = xstrdup(statedir ? statedir : ".cratis");
	s->key_file = key_file ? xstrdup(key_file) : NULL;
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
	free(s->key_file);
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

/* Under s->mu: read the key file, or create statedir/secret.key. */
static int load_key(struct secret_store *s)
{
	if (s->have_key)
		return CRATIS_OK;
	char *path = s->key_file ? xstrdup(s->key_file) : xasprintf("%s/secret.key", s->statedir);
	int rc = CRATIS_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC | (s->key_file ? 0 : O_NOFOLLOW));
	if (fd < 0 && errno == ENOENT && !s->key_file) {
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
	unsigned char mac[32];
	if (!rc)
		rc = hmac_sha256(mac, s->key, KEY_LEN, value, len);
	pthread_mutex_unlock(&s->mu);
	if (rc)
		return rc;
	struct buf b = BUF_INIT;
	buf_adds(&b, SECRET_REDACTED " hmac-sha256:");
	for (size_t i = 0; i < sizeof(mac); i++)
		buf_addf(&b, "%02x", mac[i]);
	*out = buf_detach(&b);
	return CRATIS_OK;
}

/* ---- sealed values: AES-256-GCM (NIST SP 800-38D) under a key derived from the state's key,
 * 12-byte random nonce, 16-byte tag; text form base64(nonce || ciphertext || tag) ---- */

#define NONCE_LEN 12
#define TAG_LEN 16

/* Under s->mu with the key loaded: the sealing key, HMAC-SHA256(key, "cratis seal v1"). */
static int seal_key(struct secret_store *s, unsigned char out[32])
{
	static const char label[] = "cratis seal v1";
	return hmac_sha256(out, s->key, KEY_LEN, label, sizeof(label) - 1);
}

int secret_store_seal(struct secret_store *s, char **out, const json_t *value)
{
	*out = NULL;
	char *plain = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!plain)
		return error_set(CRATIS_EINVAL, "a sensitive value cannot be encoded as JSON");
	size_t len = strlen(plain);
	char *hash = NULL;
	int rc = secret_store_redact(s, &hash, plain, len);
	const struct crypto_api *c = rc ? NULL : crypto_api();
	if (!rc && !c)
		rc = cratis_error_last()->status;
	unsigned char key[32], *raw = NULL;
	if (!rc) {
		pthread_mutex_lock(&s->mu);
		rc = seal_key(s, key);
		pthread_mutex_unlock(&s->mu);
	}
	if (!rc && len > INT32_MAX - NONCE_LEN - TAG_LEN)
		rc = error_set(CRATIS_EINVAL, "a sensitive value is too large to seal (%zu bytes)", len);
	EVP_CIPHER_CTX *x = NULL;
	if (!rc) {
		raw = xmalloc(NONCE_LEN + len + TAG_LEN);
		int n = 0, fin = 0;
		x = c->EVP_CIPHER_CTX_new();
		if (getrandom(raw, NONCE_LEN, 0) != NONCE_LEN)
			rc = error_set(CRATIS_EIO, "cannot seal a sensitive value: no random bytes: %s", strerror(errno));
		else if (!x || c->EVP_EncryptInit_ex(x, c->EVP_aes_256_gcm(), NULL, key, raw) != 1 ||
		         c->EVP_EncryptUpdate(x, raw + NONCE_LEN, &n, (const unsigned char *)plain, (int)len) != 1 ||
		         c->EVP_EncryptFinal_ex(x, raw + NONCE_LEN + n, &fin) != 1 || (size_t)(n + fin) != len ||
		         c->EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, TAG_LEN, raw + NONCE_LEN + len) != 1)
			rc = error_set(CRATIS_ERROR, "libcrypto: AES-256-GCM encryption failed");
	}
	if (!rc) {
		size_t rl = NONCE_LEN + len + TAG_LEN;
		unsigned char *b64 = xmalloc(4 * ((rl + 2) / 3) + 1);
		c->EVP_EncodeBlock(b64, raw, (int)rl);
		*out = xasprintf("%s" SECRET_SEALED "%s", hash, (const char *)b64);
		free(b64);
	}
	if (x)
		c->EVP_CIPHER_CTX_free(x);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(plain, len);
	free(plain);
	free(raw);
	free(hash);
	return rc;
}

bool secret_is_sealed(const char *text)
{
	return text && !strncmp(text, SECRET_REDACTED, strlen(SECRET_REDACTED)) && strstr(text, SECRET_SEALED);
}

int secret_store_unseal(struct secret_store *s, json_t **out, const char *text)
{
	*out = NULL;
	const char *b64 = secret_is_sealed(text) ? strstr(text, SECRET_SEALED) + strlen(SECRET_SEALED) : NULL;
	size_t bl = b64 ? strlen(b64) : 0;
	if (!b64 || bl % 4 || bl > INT32_MAX)
		return error_set(CRATIS_EINVAL, "not a sealed value");
	const struct crypto_api *c = crypto_api();
	if (!c)
		return cratis_error_last()->status;
	unsigned char key[32];
	pthread_mutex_lock(&s->mu);
	int rc = load_key(s);
	if (!rc)
		rc = seal_key(s, key);
	pthread_mutex_unlock(&s->mu);
	if (rc)
		return rc;
	unsigned char *raw = xmalloc(bl / 4 * 3 + 1);
	int rl = c->EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)bl);
	/* EVP_DecodeBlock counts the bytes that '=' padding stands for */
	if (rl >= 0 && bl >= 1 && b64[bl - 1] == '=')
		rl--;
	if (rl >= 0 && bl >= 2 && b64[bl - 2] == '=')
		rl--;
	char *plain = NULL;
	size_t len = rl >= NONCE_LEN + TAG_LEN ? (size_t)rl - NONCE_LEN - TAG_LEN : 0;
	EVP_CIPHER_CTX *x = NULL;
	if (rl < NONCE_LEN + TAG_LEN) {
		rc = error_set(CRATIS_EINVAL, "a sealed value is malformed (bad base64 or too short)");
	} else {
		plain = xmalloc(len + 1);
		int n = 0, fin = 0;
		x = c->EVP_CIPHER_CTX_new();
		if (!x || c->EVP_DecryptInit_ex(x, c->EVP_aes_256_gcm(), NULL, key, raw) != 1 ||
		    c->EVP_DecryptUpdate(x, (unsigned char *)plain, &n, raw + NONCE_LEN, (int)len) != 1 ||
		    c->EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + NONCE_LEN + len) != 1 ||
		    c->EVP_DecryptFinal_ex(x, (unsigned char *)plain + n, &fin) != 1 || (size_t)(n + fin) != len)
			rc = error_set(CRATIS_EINVAL, "a sealed value does not open with this state's key (%s%s is not "
			               "the key that sealed it, or the value was altered)", s->key_file ? s->key_file : s->statedir,
			               s->key_file ? "" : "/secret.key");
	}
	if (!rc) {
		plain[len] = '\0';
		*out = json_loads(plain, JSON_DECODE_ANY, NULL);
		if (!*out)
			rc = error_set(CRATIS_EINVAL, "a sealed value does not hold JSON");
	}
	if (x)
		c->EVP_CIPHER_CTX_free(x);
	explicit_bzero(key, sizeof(key));
	if (plain) {
		explicit_bzero(plain, len);
		free(plain);
	}
	free(raw);
	return rc;
}

json_t *secret_public(const json_t *v)
{
	if (json_is_string(v) && secret_is_sealed(json_string_value(v))) {
		const char *t = json_string_value(v);
		return json_stringn(t, (size_t)(strstr(t, SECRET_SEALED) - t));
	}
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
			json_object_set_new(o, k, secret_public(x));
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			json_array_append_new(a, secret_public(x));
		return a;
	}
	return json_incref((json_t *)v);
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
		free_wiped(cur);
		cur = buf_detach(&b);
	}
	pthread_mutex_unlock(&s->mu);
	return cur;
}
