/* OpenID Connect bearer tokens of `cratis serve`: JSON Web Tokens (RFC 7519) signed RS256 or
 * ES256 (RFC 7518), verified against the keys of a JSON Web Key Set file (RFC 7517) with OpenSSL's
 * libcrypto (opened on first use, src/util/dynlib.h); and the check of the server's TLS
 * certificate and key (docs/server.md "Access" and "TLS"). */
#ifndef CRATIS_SERVER_JWT_H
#define CRATIS_SERVER_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/diag.h"

#define JWT_MAX_ROLES 16      /* roles taken from the roles claim; further ones are ignored */
#define JWT_MAX_LEN 16384     /* a longer token is refused before it is decoded */
#define JWKS_MAX_KEYS 64      /* keys kept from a JWKS; further ones are ignored */

/* The verification keys of a JWKS document (opaque). */
struct jwks;

/* Parse the JWKS document text (len bytes; {"keys": [...]}) into *out: RSA keys (kty "RSA", n
 * and e; at least 2048 bits) and P-256 EC keys (kty "EC", crv "P-256", x and y), each with its
 * optional kid and alg. A key whose use is not "sig", or of another kty or curve, is skipped.
 * origin names the document in errors (a file path). Returns CRATIS_OK with *out set (jwks_free);
 * CRATIS_EINVAL when the text is not a JWKS, a supported key is malformed (base64url, a point not
 * on the curve, a short modulus) or no key is usable, each error appended to d as
 * ORIGIN:LINE:COL with the field ("keys[1].n") and what was expected; CRATIS_ENOTFOUND when
 * libcrypto cannot be loaded (its Debian package named). *out is NULL on error. Thread-safe. */
int jwks_parse(struct jwks **out, const char *text, size_t len, const char *origin, struct diags *d);
/* jwks_parse of the file at path (at most 1 MiB); CRATIS_EIO when it cannot be read. */
int jwks_load(struct jwks **out, const char *path, struct diags *d);
/* How many usable keys k holds. */
size_t jwks_count(const struct jwks *k);
/* Free k (NULL ignored). */
void jwks_free(struct jwks *k);

/* What a token must carry (borrowed). */
struct jwt_config {
	const char *issuer;       /* the "iss" claim, compared exactly; required */
	const char *audience;     /* one of "aud" (a string or an array), compared exactly; required */
	const char *roles_claim;  /* the claim listing the subject's roles (a string or an array of
	                           * strings), NULL: "groups" */
	int64_t leeway_s;         /* clock skew allowed on exp and nbf, seconds (60) */
};

/* Who a verified token stands for. */
struct jwt_identity {
	char subject[128];                      /* "sub", or "email" when there is no sub */
	char roles[JWT_MAX_ROLES][128];         /* "role:NAME" per entry of the roles claim */
	size_t nroles;
};

/* Whether text has the shape of a compact JWS: three non-empty base64url parts separated by dots
 * (what decides between a JWT and a cratis token). */
bool jwt_shaped(const char *text);

/* Verify token (a compact JWS, at most JWT_MAX_LEN bytes) at Unix time now (seconds): its header's
 * alg must be RS256 or ES256 ("none" and HS256/384/512 are refused) and the signature must verify
 * with the key of k whose kid the header names (without a kid: any key of the alg's type); the
 * payload must have iss == c->issuer, c->audience in aud, exp with now <= exp + leeway, and, when
 * present, nbf <= now + leeway; and a subject (sub, else email). Returns CRATIS_OK with *out
 * filled; CRATIS_EINVAL with the reason in the last error (never the token or its signature:
 * "token expired at 2026-12-01T10:00:00Z", "wrong audience", "signature does not verify"...);
 * CRATIS_ENOTFOUND when libcrypto cannot be loaded. Thread-safe. */
int jwt_verify(const struct jwks *k, const struct jwt_config *c, const char *token, int64_t now,
               struct jwt_identity *out);

/* Check the PEM certificate at cert_path and the PEM private key at key_path for the server's
 * TLS: both readable (at most 1 MiB), the first a certificate, the second an unencrypted private
 * key, and the key the certificate's. On success *cert and *key get the files' text (heap,
 * NUL-terminated; the caller wipes and frees the key). Returns CRATIS_OK; CRATIS_EIO (a file
 * cannot be read) or CRATIS_EINVAL (not a certificate, not a key, or they do not match), with the
 * file named, appended to d; CRATIS_ENOTFOUND when libcrypto cannot be loaded. */
int tls_pair_load(const char *cert_path, const char *key_path, char **cert, char **key, struct diags *d);

#endif
