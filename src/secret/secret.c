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

#include "util/buf.h"
#include "util/error.h"
#include "util/subprocess.h"
#include "util/util.h"
#include "banned.h"

#define KEY_LEN 32

/* ---- SHA-256 (FIPS 180-4) and HMAC (RFC 2104): here rather than libcrypto, which the core
 * does not link (commands that never hash start without it) ---- */

struct sha256 {
	uint32_t h[8];
	uint64_t len;          /* bytes fed */
	unsigned char blk[64];
	size_t n;              /* bytes in blk */
};

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(struct sha256 *c, const unsigned char *p)
{
	uint32_t w[64], a, b, cc, d, e, f, g, h;
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = c->h[0]; b = c->h[1]; cc = c->h[2]; d = c->h[3];
	e = c->h[4]; f = c->h[5]; g = c->h[6]; h = c->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
		h = g; g = f; f = e; e = d + t1;
		d = cc; cc = b; b = a; a = t1 + t2;
	}
	c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d;
	c->h[4] += e; c->h[5] += f; c->h[6] += g; c->h[7] += h;
	explicit_bzero(w, sizeof(w));
}

static void sha256_init(struct sha256 *c)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                                0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memset(c, 0, sizeof(*c));
	memcpy(c->h, iv, sizeof(iv));
}

static void sha256_add(struct sha256 *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	c->len += len;
	while (len) {
		size_t k = 64 - c->n < len ? 64 - c->n : len;
		memcpy(c->blk + c->n, p, k);
		c->n += k;
		p += k;
		len -= k;
		if (c->n == 64) {
			sha256_block(c, c->blk);
			c->n = 0;
		}
	}
}

static void sha256_done(struct sha256 *c, unsigned char out[32])
{
	uint64_t bits = c->len * 8;
	unsigned char pad = 0x80, zero = 0, l[8];
	sha256_add(c, &pad, 1);
	while (c->n != 56)
		sha256_add(c, &zero, 1);
	for (int i = 0; i < 8; i++)
		l[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_add(c, l, 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(c->h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(c->h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(c->h[i] >> 8);
		out[4 * i + 3] = (unsigned char)c->h[i];
	}
	explicit_bzero(c, sizeof(*c));
}

/* HMAC-SHA256 of data under a key of at most 64 bytes. */
void secret_sha256_hex(char out[65], const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[32];
	struct sha256 c;
	sha256_init(&c);
	sha256_add(&c, data, len);
	sha256_done(&c, d);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
}

static void hmac_sha256(unsigned char out[32], const unsigned char *key, size_t klen, const void *data, size_t len)
{
	unsigned char k[64] = { 0 }, ipad[64], opad[64], inner[32];
	memcpy(k, key, klen <= 64 ? klen : 64);
	for (int i = 0; i < 64; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	struct sha256 c;
	sha256_init(&c);
	sha256_add(&c, ipad, 64);
	sha256_add(&c, data, len);
	sha256_done(&c, inner);
	sha256_init(&c);
	sha256_add(&c, opad, 64);
	sha256_add(&c, inner, 32);
	sha256_done(&c, out);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(ipad, sizeof(ipad));
	explicit_bzero(opad, sizeof(opad));
	explicit_bzero(inner, sizeof(inner));
}
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
	unsigned char mac[32];
	unsigned int maclen = sizeof(mac);
	if (!rc)
		hmac_sha256(mac, s->key, KEY_LEN, value, len);
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
