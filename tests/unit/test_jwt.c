/* OIDC JWT verification of cratis serve (src/server/jwt.c): keys and tokens are generated at test
 * time by tests/server/jwt_gen.py (python3-cryptography), the claims relative to a fixed now. */
#include "helpers.h"

#include <time.h>

#include "server/auth.h"
#include "server/jwt.h"

struct fixture {
	char *dir;
	int64_t now;
	struct jwks *keys;
	char names[32][32];
	char *tokens[32];
	size_t n;
};

static const struct jwt_config config = { "https://idp.example", "cratis", NULL, 60 };

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->dir = tmp_dir();
	f->now = (int64_t)time(NULL);
	const char *src = getenv("CRATIS_SOURCE_DIR");
	char *cmd = xasprintf("python3 '%s/tests/server/jwt_gen.py' '%s' %lld", src ? src : "..", f->dir, (long long)f->now);
	int rc = system(cmd);
	free(cmd);
	if (rc != 0)
		fail_msg("jwt_gen.py failed (python3-cryptography installed?)");
	char *path = xasprintf("%s/tokens.txt", f->dir);
	struct buf b = BUF_INIT;
	assert_int_equal(buf_read_file(&b, path, 1 << 20), 0);
	free(path);
	for (char *save = NULL, *ln = strtok_r(b.ptr, "\n", &save); ln && f->n < 32; ln = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(ln, ' ');
		assert_non_null(sp);
		*sp = 0;
		snprintf(f->names[f->n], sizeof(f->names[0]), "%s", ln);
		f->tokens[f->n++] = xstrdup(sp + 1);
	}
	buf_release(&b);
	struct diags d = DIAGS_INIT;
	path = xasprintf("%s/jwks.json", f->dir);
	assert_int_equal(jwks_load(&f->keys, path, &d), CRATIS_OK);
	free(path);
	assert_int_equal(d.n, 0);
	diags_release(&d);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	jwks_free(f->keys);
	for (size_t i = 0; i < f->n; i++)
		free(f->tokens[i]);
	tmp_cleanup(f->dir);
	free(f);
	return 0;
}

static const char *token(struct fixture *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->names[i], name))
			return f->tokens[i];
	fail_msg("no token %s", name);
	return NULL;
}

static void test_jwks_keeps_signing_keys(void **state)
{
	struct fixture *f = *state;
	/* the RSA and the EC key; the "enc" key and the symmetric one are skipped */
	assert_int_equal(jwks_count(f->keys), 2);
}

/* Table: each token, whether it verifies, and a part of the reason when it does not. */
static void test_verify_table(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name;
		int status;
		const char *reason;       /* NULL when it verifies */
		const char *subject;
	} rows[] = {
		{ "good_rs", CRATIS_OK, NULL, "alice" },
		{ "good_es", CRATIS_OK, NULL, "bob@example.org" },
		{ "good_nokid", CRATIS_OK, NULL, "alice" },
		{ "good_leeway", CRATIS_OK, NULL, "alice" },
		{ "expired", CRATIS_EINVAL, "token expired at", NULL },
		{ "not_yet", CRATIS_EINVAL, "not valid before", NULL },
		{ "no_exp", CRATIS_EINVAL, "no expiry", NULL },
		{ "wrong_aud", CRATIS_EINVAL, "wrong audience", NULL },
		{ "wrong_iss", CRATIS_EINVAL, "wrong issuer", NULL },
		{ "wrong_key", CRATIS_EINVAL, "signature does not verify", NULL },
		{ "unknown_kid", CRATIS_EINVAL, "no RS256 key with the token's kid", NULL },
		{ "tampered", CRATIS_EINVAL, "signature does not verify", NULL },
		{ "alg_none", CRATIS_EINVAL, "algorithm 'none' refused", NULL },
		{ "alg_none_empty", CRATIS_EINVAL, "malformed JWT", NULL },
		{ "hs256", CRATIS_EINVAL, "algorithm 'HS256' refused", NULL },
		{ "es_as_rs", CRATIS_EINVAL, "no ES256 key with the token's kid", NULL },
		{ "no_subject", CRATIS_EINVAL, "names no subject", NULL },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct jwt_identity id;
		error_clear();
		int rc = jwt_verify(f->keys, &config, token(f, rows[i].name), f->now, &id);
		if (rc != rows[i].status)
			fail_msg("%s: status %d, expected %d (%s)", rows[i].name, rc, rows[i].status, cratis_error_last()->message);
		if (rows[i].reason)
			assert_contains(cratis_error_last()->message, rows[i].reason);
		else
			assert_string_equal(id.subject, rows[i].subject);
		/* a reason never repeats the token's payload or signature */
		const char *tok = token(f, rows[i].name), *sig = strrchr(tok, '.') + 1;
		if (strlen(sig) > 2)
			assert_null(strstr(cratis_error_last()->message, sig));
		assert_null(strstr(cratis_error_last()->message, tok));
	}
}

static void test_roles_claim(void **state)
{
	struct fixture *f = *state;
	struct jwt_identity id;
	assert_int_equal(jwt_verify(f->keys, &config, token(f, "good_rs"), f->now, &id), CRATIS_OK);
	assert_int_equal(id.nroles, 2);
	assert_string_equal(id.roles[0], "role:deployer");
	assert_string_equal(id.roles[1], "role:ops");
	/* a string claim is one role */
	assert_int_equal(jwt_verify(f->keys, &config, token(f, "good_es"), f->now, &id), CRATIS_OK);
	assert_int_equal(id.nroles, 1);
	assert_string_equal(id.roles[0], "role:viewer");
	/* another claim: none there, no roles */
	struct jwt_config c = config;
	c.roles_claim = "roles";
	assert_int_equal(jwt_verify(f->keys, &c, token(f, "good_rs"), f->now, &id), CRATIS_OK);
	assert_int_equal(id.nroles, 0);
	/* the leeway is what makes good_leeway pass: without it, it is expired */
	c = config;
	c.leeway_s = 0;
	assert_int_equal(jwt_verify(f->keys, &c, token(f, "good_leeway"), f->now, &id), CRATIS_EINVAL);
	/* and later, every token is expired */
	assert_int_equal(jwt_verify(f->keys, &config, token(f, "good_rs"), f->now + 3600 + 61, &id), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "expired");
}

static void test_roles_in_policy(void **state)
{
	(void)state;
	/* a JWT's further roles count as the token role does */
	struct authz z;
	struct diags d = DIAGS_INIT;
	assert_int_equal(authz_load(&z, NULL, &d), CRATIS_OK);
	struct token_subject s = { .subject = "alice", .role = "role:deployer" };
	assert_false(authz_allows(&z, &s, "deployments", "get", "staging/shop"));
	assert_false(authz_allows_some(&z, &s, "events", "get"));
	snprintf(s.roles[s.nroles++], sizeof(s.roles[0]), "role:readonly");
	assert_true(authz_allows(&z, &s, "deployments", "get", "staging/shop"));
	assert_false(authz_allows(&z, &s, "deployments", "create", "staging/shop"));
	assert_true(authz_allows_some(&z, &s, "events", "get"));
	authz_release(&z);
	diags_release(&d);
}

static void test_shapes(void **state)
{
	(void)state;
	assert_true(jwt_shaped("a.b.c"));
	assert_false(jwt_shaped("a.b."));
	assert_false(jwt_shaped("a..c"));
	assert_false(jwt_shaped("a.b.c.d"));
	assert_false(jwt_shaped("a.b+.c"));
	assert_false(jwt_shaped("cratis_0123456789abcdef_00"));
	struct fixture *f = *state;
	struct jwt_identity id;
	assert_int_equal(jwt_verify(f->keys, &config, "e30.e30.e30", f->now, &id), CRATIS_EINVAL);
	assert_int_equal(jwt_verify(f->keys, &config, "!!.e30.e30", f->now, &id), CRATIS_EINVAL);
	assert_int_equal(jwt_verify(f->keys, &config, NULL, f->now, &id), CRATIS_EINVAL);
}

static void jwks_error(const char *text, const char *want)
{
	struct jwks *k = NULL;
	struct diags d = DIAGS_INIT;
	assert_int_equal(jwks_parse(&k, text, strlen(text), "keys.json", &d), CRATIS_EINVAL);
	assert_null(k);
	assert_true(d.n > 0);
	struct buf b = BUF_INIT;
	diag_format(&d.v[0], &b);
	assert_contains(b.ptr, want);
	buf_release(&b);
	diags_release(&d);
}

static void test_jwks_errors(void **state)
{
	struct fixture *f = *state;
	jwks_error("{", "keys.json:1:");
	jwks_error("{\"kids\": []}", "keys.json:1:1: keys: expected a JSON Web Key Set");
	jwks_error("{\"keys\": []}", "expected at least one RS256 or ES256 signing key");
	jwks_error("{\"keys\": [{\"kty\": \"RSA\", \"n\": \"!!\", \"e\": \"AQAB\"}]}", "keys[0].n: expected a non-empty base64url");
	jwks_error("{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", \"x\": \"AAAA\", \"y\": \"AAAA\"}]}",
	           "keys[0].x: expected a P-256 point");
	/* a point of the right size that is not on the curve */
	jwks_error("{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", \"x\": \"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\", "
	           "\"y\": \"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
	           "keys[0].x: expected a P-256 point");
	jwks_error("{\"keys\": [{\"kty\": \"RSA\", \"alg\": \"RS512\", \"n\": \"AQAB\", \"e\": \"AQAB\"}]}",
	           "found none");
	char *path = xasprintf("%s/short.json", f->dir);
	struct jwks *k = NULL;
	struct diags d = DIAGS_INIT;
	assert_int_equal(jwks_load(&k, path, &d), CRATIS_EINVAL);
	assert_contains(d.v[0].message, "at least 2048 bits, got 1024");
	diags_release(&d);
	free(path);
	assert_int_equal(jwks_load(&k, "/nonexistent/jwks.json", &d), CRATIS_EIO);
	assert_contains(d.v[0].message, "/nonexistent/jwks.json");
	diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwks_keeps_signing_keys),
		cmocka_unit_test(test_verify_table),
		cmocka_unit_test(test_roles_claim),
		cmocka_unit_test(test_roles_in_policy),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_jwks_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
