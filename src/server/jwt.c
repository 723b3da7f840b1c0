/* JWT verification against a JWKS (RS256, ES256) and the TLS key pair check, with libcrypto
 * opened on first use (see jwt.h). */
#define _GNU_SOURCE /* explicit_bzero */
#include "jwt.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util/buf.h"
#include "util/dynlib.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

#ifndef CRATIS_LIBCRYPTO_SONAME
#define CRATIS_LIBCRYPTO_SONAME "libcrypto.so.3"
#define CRATIS_LIBCRYPTO_PACKAGE "libssl3"
#endif

/* ---- libcrypto, opened on first use ---- */

#define JWT_CRYPTO(X) \
	X(OSSL_PARAM_BLD_new) X(OSSL_PARAM_BLD_push_BN) X(OSSL_PARAM_BLD_push_utf8_string) \
	X(OSSL_PARAM_BLD_push_octet_string) X(OSSL_PARAM_BLD_to_param) X(OSSL_PARAM_BLD_free) X(OSSL_PARAM_free) \
	X(BN_bin2bn) X(BN_free) X(EVP_PKEY_CTX_new_from_name) X(EVP_PKEY_CTX_new_from_pkey) \
	X(EVP_PKEY_fromdata_init) X(EVP_PKEY_fromdata) X(EVP_PKEY_public_check) X(EVP_PKEY_CTX_free) \
	X(EVP_PKEY_free) X(EVP_PKEY_get_bits) X(EVP_MD_CTX_new) X(EVP_MD_CTX_free) X(EVP_DigestVerifyInit) \
	X(EVP_DigestVerify) X(EVP_sha256) X(BIO_new_mem_buf) X(BIO_free) X(PEM_read_bio_X509) \
	X(PEM_read_bio_PrivateKey) X(X509_free) X(X509_check_private_key) X(ERR_clear_error)

static struct {
	struct dynlib lib;
#define JWT_MEMBER(name) __typeof__(name) *name;
	JWT_CRYPTO(JWT_MEMBER)
#undef JWT_MEMBER
} cr;
static pthread_once_t cr_once = PTHREAD_ONCE_INIT;

static void cr_load(void)
{
	if (dynlib_open(&cr.lib, "libcrypto", CRATIS_LIBCRYPTO_SONAME, CRATIS_LIBCRYPTO_PACKAGE))
		return;
#define JWT_RESOLVE(name) cr.name = (__typeof__(cr.name))dynlib_sym(&cr.lib, #name);
	JWT_CRYPTO(JWT_RESOLVE)
#undef JWT_RESOLVE
}

static int cr_ready(void)
{
	return dynlib_load_once(&cr_once, cr_load, &cr.lib);
}

/* ---- base64url (RFC 4648 section 5) ---- */

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Decode n characters of base64url (no padding; pad: '=' padding allowed at the end) into a new
 * buffer *out (*outlen bytes, NUL-terminated). false on any other character or a length that
 * cannot be base64. */
static bool b64url_decode(const char *s, size_t n, bool pad, unsigned char **out, size_t *outlen)
{
	if (pad)
		while (n && s[n - 1] == '=')
			n--;
	if (n % 4 == 1)
		return false;
	unsigned char *o = xmalloc(n * 3 / 4 + 2);
	size_t k = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);
		if (v < 0) {
			free(o);
			return false;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[k++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc) { /* non-zero leftover bits: not the canonical encoding */
		free(o);
		return false;
	}
	o[k] = 0;
	*out = o;
	*outlen = k;
	return true;
}

/* ---- JWKS ---- */

struct jwk {
	char kid[128];
	bool has_kid;
	bool rsa;                 /* else EC P-256 */
	EVP_PKEY *pkey;
};

struct jwks {
	struct jwk v[JWKS_MAX_KEYS];
	size_t n;
};

size_t jwks_count(const struct jwks *k)
{
	return k ? k->n : 0;
}

void jwks_free(struct jwks *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n; i++)
		cr.EVP_PKEY_free(k->v[i].pkey);
	free(k);
}

/* The bytes of base64url member name of key, or NULL after an error naming field keys[i].name. */
static unsigned char *member_bytes(const json_t *key, const char *name, size_t i, size_t *len, const char *origin,
                                   struct diags *d)
{
	const char *v = json_string_value(json_object_get(key, name));
	unsigned char *b = NULL;
	if (v && *v && strlen(v) <= 4096 && b64url_decode(v, strlen(v), true, &b, len) && *len)
		return b;
	char *field = xasprintf("keys[%zu].%s", i, name);
	diag_locate(diags_errorf(d, CRATIS_EINVAL, "expected a non-empty base64url string"), origin, 1, 1, field);
	free(field);
	return NULL;
}

/* An EVP_PKEY from the OSSL_PARAMs built in bld (freed here), or NULL. */
static EVP_PKEY *pkey_from(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = cr.OSSL_PARAM_BLD_to_param(bld);
	cr.OSSL_PARAM_BLD_free(bld);
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = params ? cr.EVP_PKEY_CTX_new_from_name(NULL, type, NULL) : NULL;
	if (!ctx || cr.EVP_PKEY_fromdata_init(ctx) != 1 ||
	    cr.EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	cr.EVP_PKEY_CTX_free(ctx);
	cr.OSSL_PARAM_free(params);
	if (pkey) {
		EVP_PKEY_CTX *c = cr.EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		bool ok = c && cr.EVP_PKEY_public_check(c) == 1;
		cr.EVP_PKEY_CTX_free(c);
		if (!ok) {
			cr.EVP_PKEY_free(pkey);
			pkey = NULL;
		}
	}
	cr.ERR_clear_error();
	return pkey;
}

static EVP_PKEY *rsa_key(const json_t *key, size_t i, const char *origin, struct diags *d)
{
	size_t nl = 0, el = 0;
	unsigned char *n = member_bytes(key, "n", i, &nl, origin, d);
	unsigned char *e = n ? member_bytes(key, "e", i, &el, origin, d) : NULL;
	EVP_PKEY *pkey = NULL;
	if (n && e) {
		BIGNUM *bn = cr.BN_bin2bn(n, (int)nl, NULL), *be = cr.BN_bin2bn(e, (int)el, NULL);
		OSSL_PARAM_BLD *bld = cr.OSSL_PARAM_BLD_new();
		if (bn && be && bld && cr.OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
		    cr.OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1)
			pkey = pkey_from("RSA", bld);
		else
			cr.OSSL_PARAM_BLD_free(bld);
		cr.BN_free(bn);
		cr.BN_free(be);
		char *field = xasprintf("keys[%zu].n", i);
		if (!pkey)
			diag_locate(diags_errorf(d, CRATIS_EINVAL, "expected an RSA public key (n and e)"), origin, 1, 1, field);
		else if (cr.EVP_PKEY_get_bits(pkey) < 2048) {
			diag_locate(diags_errorf(d, CRATIS_EINVAL, "expected an RSA modulus of at least 2048 bits, got %d",
			                         cr.EVP_PKEY_get_bits(pkey)),
			            origin, 1, 1, field);
			cr.EVP_PKEY_free(pkey);
			pkey = NULL;
		}
		free(field);
	}
	free(n);
	free(e);
	return pkey;
}

static EVP_PKEY *ec_key(const json_t *key, size_t i, const char *origin, struct diags *d)
{
	size_t xl = 0, yl = 0;
	unsigned char *x = member_bytes(key, "x", i, &xl, origin, d);
	unsigned char *y = x ? member_bytes(key, "y", i, &yl, origin, d) : NULL;
	EVP_PKEY *pkey = NULL;
	if (x && y) {
		unsigned char pt[65];
		OSSL_PARAM_BLD *bld = NULL;
		if (xl == 32 && yl == 32) {
			pt[0] = 4; /* uncompressed point */
			memcpy(pt + 1, x, 32);
			memcpy(pt + 33, y, 32);
			bld = cr.OSSL_PARAM_BLD_new();
		}
		if (bld && cr.OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 1 &&
		    cr.OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) == 1)
			pkey = pkey_from("EC", bld);
		else
			cr.OSSL_PARAM_BLD_free(bld);
		if (!pkey) {
			char *field = xasprintf("keys[%zu].x", i);
			diag_locate(diags_errorf(d, CRATIS_EINVAL, "expected a P-256 point (x and y of 32 bytes on the curve)"),
			            origin, 1, 1, field);
			free(field);
		}
	}
	free(x);
	free(y);
	return pkey;
}

int jwks_parse(struct jwks **out, const char *text, size_t len, const char *origin, struct diags *d)
{
	*out = NULL;
	int rc = cr_ready();
	if (rc)
		return diags_add_last_error(d);
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	json_t *keys = json_object_get(j, "keys");
	if (!json_is_array(keys)) {
		struct diag *dg = diags_errorf(d, CRATIS_EINVAL, "%s", j ? "expected a JSON Web Key Set {\"keys\": [...]}" : je.text);
		diag_locate(dg, origin, j ? 1 : je.line, j ? 1 : je.column, "keys");
		json_decref(j);
		return CRATIS_EINVAL;
	}
	struct jwks *k = xcalloc(1, sizeof(*k));
	size_t i, before = d->n;
	json_t *key;
	json_array_foreach(keys, i, key) {
		if (k->n == JWKS_MAX_KEYS)
			break;
		const char *kty = json_string_value(json_object_get(key, "kty"));
		const char *use = json_string_value(json_object_get(key, "use"));
		const char *crv = json_string_value(json_object_get(key, "crv"));
		const char *alg = json_string_value(json_object_get(key, "alg"));
		const char *kid = json_string_value(json_object_get(key, "kid"));
		if (!json_is_object(key) || !kty || (use && strcmp(use, "sig")))
			continue;
		bool rsa = !strcmp(kty, "RSA"), ec = !strcmp(kty, "EC") && crv && !strcmp(crv, "P-256");
		/* a key pinned to an algorithm this server does not verify is never used */
		if ((!rsa && !ec) || (alg && strcmp(alg, rsa ? "RS256" : "ES256")))
			continue;
		EVP_PKEY *pkey = rsa ? rsa_key(key, i, origin, d) : ec_key(key, i, origin, d);
		if (!pkey)
			continue;
		struct jwk *w = &k->v[k->n++];
		w->rsa = rsa;
		w->pkey = pkey;
		if (kid) {
			w->has_kid = true;
			snprintf(w->kid, sizeof(w->kid), "%s", kid);
		}
	}
	json_decref(j);
	if (d->n > before || !k->n) {
		if (d->n == before)
			diag_locate(diags_errorf(d, CRATIS_EINVAL, "expected at least one RS256 or ES256 signing key (RSA, or EC "
			                                           "P-256), found none"),
			            origin, 1, 1, "keys");
		jwks_free(k);
		return CRATIS_EINVAL;
	}
	*out = k;
	return CRATIS_OK;
}

int jwks_load(struct jwks **out, const char *path, struct diags *d)
{
	struct buf b = BUF_INIT;
	*out = NULL;
	if (buf_read_file(&b, path, 1 << 20)) {
		diags_errorf(d, CRATIS_EIO, "cannot read the JWKS '%s': %s", path, strerror(errno));
		buf_release(&b);
		return CRATIS_EIO;
	}
	int rc = jwks_parse(out, b.ptr, b.len, path, d);
	buf_release(&b);
	return rc;
}

/* ---- JWT ---- */

bool jwt_shaped(const char *text)
{
	if (!text)
		return false;
	int dots = 0;
	size_t seg = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '.') {
			if (!seg)
				return false;
			dots++;
			seg = 0;
		} else if (b64val((unsigned char)*p) < 0) {
			return false;
		} else {
			seg++;
		}
	}
	return dots == 2 && seg;
}

/* A segment of a token as a JSON object, or NULL. */
static json_t *segment_json(const char *s, size_t n)
{
	unsigned char *b;
	size_t len;
	if (!b64url_decode(s, n, false, &b, &len))
		return NULL;
	json_t *j = json_loadb((const char *)b, len, JSON_REJECT_DUPLICATES, NULL);
	free(b);
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* The DER encoding of an ECDSA signature from JOSE's r || s (32 bytes each) into der (at most 72
 * bytes); returns its length. */
static size_t ecdsa_der(const unsigned char *rs, unsigned char der[72])
{
	unsigned char ints[2][35]; /* 02, length, a 00 when the high bit is set, 32 bytes */
	size_t il[2];
	for (int k = 0; k < 2; k++) {
		const unsigned char *v = rs + 32 * k;
		size_t skip = 0;
		while (skip < 31 && !v[skip])
			skip++;
		size_t n = 0;
		ints[k][n++] = 0x02;
		bool high = v[skip] & 0x80;
		ints[k][n++] = (unsigned char)(32 - skip + (high ? 1 : 0));
		if (high)
			ints[k][n++] = 0;
		memcpy(ints[k] + n, v + skip, 32 - skip);
		il[k] = n + 32 - skip;
	}
	size_t n = 0;
	der[n++] = 0x30;
	der[n++] = (unsigned char)(il[0] + il[1]);
	memcpy(der + n, ints[0], il[0]);
	n += il[0];
	memcpy(der + n, ints[1], il[1]);
	return n + il[1];
}

static bool verify_sig(const struct jwk *w, const char *data, size_t dlen, const unsigned char *sig, size_t slen)
{
	unsigned char der[72];
	if (!w->rsa) {
		if (slen != 64)
			return false;
		slen = ecdsa_der(sig, der);
		sig = der;
	}
	EVP_MD_CTX *ctx = cr.EVP_MD_CTX_new();
	bool ok = ctx && cr.EVP_DigestVerifyInit(ctx, NULL, cr.EVP_sha256(), NULL, w->pkey) == 1 &&
	          cr.EVP_DigestVerify(ctx, sig, slen, (const unsigned char *)data, dlen) == 1;
	cr.EVP_MD_CTX_free(ctx);
	cr.ERR_clear_error();
	return ok;
}

static void time_text(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", (long long)t);
}

/* A NumericDate claim: false when present and not a number. */
static bool numeric_claim(const json_t *payload, const char *name, bool *present, int64_t *v)
{
	json_t *c = json_object_get(payload, name);
	*present = c != NULL;
	if (!c)
		return true;
	if (json_is_integer(c)) {
		*v = (int64_t)json_integer_value(c);
		return true;
	}
	if (json_is_real(c) && json_real_value(c) > -9e15 && json_real_value(c) < 9e15) {
		*v = (int64_t)json_real_value(c);
		return true;
	}
	return false;
}

static bool plain_role(const char *s)
{
	if (!s || !*s || strlen(s) > 100)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == ',' || *s == '"')
			return false;
	return true;
}

static void add_role(struct jwt_identity *out, const char *name)
{
	if (out->nroles == JWT_MAX_ROLES || !plain_role(name))
		return;
	snprintf(out->roles[out->nroles++], sizeof(out->roles[0]), "%s%s", starts_with(name, "role:") ? "" : "role:",
	         name);
}

static int check_claims(const struct jwt_config *c, const json_t *p, int64_t now, struct jwt_identity *out)
{
	const char *iss = json_string_value(json_object_get(p, "iss"));
	if (!iss || strcmp(iss, c->issuer))
		return error_set(CRATIS_EINVAL, "wrong issuer: expected '%s'", c->issuer);
	json_t *aud = json_object_get(p, "aud");
	bool aud_ok = json_is_string(aud) && !strcmp(json_string_value(aud), c->audience);
	size_t i;
	json_t *v;
	if (json_is_array(aud))
		json_array_foreach(aud, i, v)
			aud_ok |= json_is_string(v) && !strcmp(json_string_value(v), c->audience);
	if (!aud_ok)
		return error_set(CRATIS_EINVAL, "wrong audience: expected '%s'", c->audience);
	bool has_exp, has_nbf;
	int64_t exp = 0, nbf = 0;
	if (!numeric_claim(p, "exp", &has_exp, &exp) || !has_exp)
		return error_set(CRATIS_EINVAL, "the token has no expiry (exp, a number of seconds)");
	if (!numeric_claim(p, "nbf", &has_nbf, &nbf))
		return error_set(CRATIS_EINVAL, "the token's nbf is not a number");
	char t[32];
	if (exp < INT64_MAX - c->leeway_s && now > exp + c->leeway_s) {
		time_text(exp, t);
		return error_set(CRATIS_EINVAL, "token expired at %s", t);
	}
	if (has_nbf && nbf > INT64_MIN + c->leeway_s && nbf - c->leeway_s > now) {
		time_text(nbf, t);
		return error_set(CRATIS_EINVAL, "token not valid before %s", t);
	}
	const char *sub = json_string_value(json_object_get(p, "sub"));
	if (!sub || !*sub)
		sub = json_string_value(json_object_get(p, "email"));
	if (!sub || !*sub || strlen(sub) >= sizeof(out->subject) || !plain_role(sub))
		return error_set(CRATIS_EINVAL, "the token names no subject (sub or email)");
	memset(out, 0, sizeof(*out));
	snprintf(out->subject, sizeof(out->subject), "%s", sub);
	json_t *roles = json_object_get(p, c->roles_claim ? c->roles_claim : "groups");
	if (json_is_string(roles))
		add_role(out, json_string_value(roles));
	else if (json_is_array(roles))
		json_array_foreach(roles, i, v)
			add_role(out, json_string_value(v));
	return CRATIS_OK;
}

int jwt_verify(const struct jwks *k, const struct jwt_config *c, const char *token, int64_t now,
               struct jwt_identity *out)
{
	memset(out, 0, sizeof(*out));
	if (cr_ready())
		return cratis_error_last()->status;
	if (!token || strlen(token) > JWT_MAX_LEN || !jwt_shaped(token))
		return error_set(CRATIS_EINVAL, "malformed JWT: expected three base64url parts of at most %d bytes",
		                 JWT_MAX_LEN);
	const char *d1 = strchr(token, '.'), *d2 = strchr(d1 + 1, '.');
	json_t *h = segment_json(token, (size_t)(d1 - token));
	json_t *p = h ? segment_json(d1 + 1, (size_t)(d2 - d1 - 1)) : NULL;
	int rc = CRATIS_OK;
	unsigned char *sig = NULL;
	size_t slen = 0;
	if (!h || !p) {
		rc = error_set(CRATIS_EINVAL, "malformed JWT: its %s is not a base64url JSON object", h ? "payload" : "header");
		goto out;
	}
	const char *alg = json_string_value(json_object_get(h, "alg"));
	bool rs = alg && !strcmp(alg, "RS256"), es = alg && !strcmp(alg, "ES256");
	if (!rs && !es) {
		char a[32];
		snprintf(a, sizeof(a), "%s", alg ? alg : "(none)");
		for (char *q = a; *q; q++)
			if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
				*q = '?';
		rc = error_set(CRATIS_EINVAL, "JWT algorithm '%s' refused: expected RS256 or ES256", a);
		goto out;
	}
	if (json_object_get(h, "crit")) {
		rc = error_set(CRATIS_EINVAL, "JWT with critical header extensions (crit) refused");
		goto out;
	}
	if (!b64url_decode(d2 + 1, strlen(d2 + 1), false, &sig, &slen)) {
		rc = error_set(CRATIS_EINVAL, "malformed JWT: its signature is not base64url");
		goto out;
	}
	const char *kid = json_string_value(json_object_get(h, "kid"));
	if (json_object_get(h, "kid") && !kid) {
		rc = error_set(CRATIS_EINVAL, "malformed JWT: kid is not a string");
		goto out;
	}
	bool found = false, ok = false;
	for (size_t i = 0; k && i < k->n && !ok; i++) {
		const struct jwk *w = &k->v[i];
		if (w->rsa != rs || (kid && (!w->has_kid || strcmp(w->kid, kid))))
			continue;
		found = true;
		ok = verify_sig(w, token, (size_t)(d2 - token), sig, slen);
	}
	if (!found) {
		rc = kid ? error_set(CRATIS_EINVAL, "no %s key with the token's kid in the JWKS", alg)
		         : error_set(CRATIS_EINVAL, "no %s key in the JWKS", alg);
		goto out;
	}
	if (!ok) {
		rc = error_set(CRATIS_EINVAL, "the JWT's signature does not verify");
		goto out;
	}
	rc = check_claims(c, p, now, out);
out:
	json_decref(h);
	json_decref(p);
	free(sig);
	return rc;
}

/* ---- TLS key pair ---- */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1; /* never prompt: an encrypted key is refused */
}

int tls_pair_load(const char *cert_path, const char *key_path, char **cert, char **key, struct diags *d)
{
	*cert = *key = NULL;
	if (cr_ready())
		return diags_add_last_error(d);
	struct buf c = BUF_INIT, k = BUF_INIT;
	int rc = CRATIS_OK;
	if (buf_read_file(&c, cert_path, 1 << 20)) {
		diags_errorf(d, CRATIS_EIO, "cannot read --tls-cert '%s': %s", cert_path, strerror(errno));
		rc = CRATIS_EIO;
	} else if (buf_read_file(&k, key_path, 1 << 20)) {
		diags_errorf(d, CRATIS_EIO, "cannot read --tls-key '%s': %s", key_path, strerror(errno));
		rc = CRATIS_EIO;
	}
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	if (!rc) {
		BIO *b = cr.BIO_new_mem_buf(c.ptr, (int)c.len);
		x = b ? cr.PEM_read_bio_X509(b, NULL, no_passphrase, NULL) : NULL;
		cr.BIO_free(b);
		if (!x) {
			diag_locate(diags_errorf(d, CRATIS_EINVAL, "expected a PEM certificate (-----BEGIN CERTIFICATE-----)"),
			            cert_path, 1, 1, "--tls-cert");
			rc = CRATIS_EINVAL;
		}
	}
	if (!rc) {
		BIO *b = cr.BIO_new_mem_buf(k.ptr, (int)k.len);
		pk = b ? cr.PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
		cr.BIO_free(b);
		if (!pk) {
			diag_locate(diags_errorf(d, CRATIS_EINVAL, "expected an unencrypted PEM private key (-----BEGIN PRIVATE "
			                                           "KEY-----)"),
			            key_path, 1, 1, "--tls-key");
			rc = CRATIS_EINVAL;
		} else if (cr.X509_check_private_key(x, pk) != 1) {
			diag_locate(diags_errorf(d, CRATIS_EINVAL, "the key is not the private key of the certificate '%s'",
			                         cert_path),
			            key_path, 1, 1, "--tls-key");
			rc = CRATIS_EINVAL;
		}
	}
	cr.X509_free(x);
	cr.EVP_PKEY_free(pk);
	cr.ERR_clear_error();
	if (!rc) {
		*cert = buf_detach(&c);
		*key = buf_detach(&k);
	}
	buf_release(&c);
	if (k.ptr)
		explicit_bzero(k.ptr, k.len);
	buf_release(&k);
	return rc;
}
