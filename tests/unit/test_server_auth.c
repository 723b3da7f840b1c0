/* Unit tests: the access control of cratis serve (src/server/auth.c): tokens as salted hashes
 * (created, verified, refused when wrong, revoked or expired), durations, and the Casbin-style
 * policy (roles, g rules, patterns, deny wins, default deny, located errors). */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "secret/secret.h"
#include "server/auth.h"
#include "state/store.h"
#include "util/buf.h"
#include "util/error.h"

struct fake_calls fake_calls;

static void test_server_auth_tokens_are_hashed_verified_and_revoked(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *db = xasprintf("%s/state.db", dir);
	struct store *st;
	assert_int_equal(store_open_sqlite(&st, db), CRATIS_OK);
	struct token_created t;
	assert_int_equal(token_create(&t, st, "alice", "deployer", 0), CRATIS_OK);
	assert_true(starts_with(t.text, "cratis_"));
	/* the store keeps a hash, never the secret */
	struct record rec;
	assert_int_equal(store_record_get(st, TOKEN_RECORD_KIND, "", t.id, &rec), CRATIS_OK);
	assert_null(strstr(rec.body, t.text + 24));
	assert_non_null(strstr(rec.body, "\"sha256\""));
	record_release(&rec);
	struct buf b = BUF_INIT;
	assert_int_equal(buf_read_file(&b, db, 64 << 20), 0);
	assert_null(memmem(b.ptr, b.len, t.text + 24, 64));
	buf_release(&b);
	struct token_subject who;
	assert_int_equal(token_verify(&who, st, t.text), CRATIS_OK);
	assert_string_equal(who.subject, "alice");
	assert_string_equal(who.role, "role:deployer");
	/* a changed secret, a malformed token */
	char bad[128];
	snprintf(bad, sizeof(bad), "%s", t.text);
	bad[30] = bad[30] == 'a' ? 'b' : 'a';
	assert_int_equal(token_verify(&who, st, bad), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "wrong secret");
	assert_null(strstr(cratis_error_last()->message, t.text + 24));
	assert_int_equal(token_verify(&who, st, "Bearer nothing"), CRATIS_EINVAL);
	/* revoked: refused */
	assert_int_equal(token_revoke(st, t.id), CRATIS_OK);
	assert_int_equal(token_verify(&who, st, t.text), CRATIS_EINVAL);
	assert_int_equal(token_revoke(st, t.id), CRATIS_ENOTFOUND);
	json_t *list;
	assert_int_equal(token_list(&list, st), CRATIS_OK);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	/* bad subjects */
	assert_int_equal(token_create(&t, st, "a b", "r", 0), CRATIS_EINVAL);
	assert_int_equal(token_create(&t, st, "a", "", 0), CRATIS_EINVAL);
	store_close(st);
	free(db);
	tmp_cleanup(dir);
}

static void test_server_auth_tokens_file_is_imported_once(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *db = xasprintf("%s/state.db", dir);
	/* a tokens file as earlier versions wrote it: the token cratis_00000000000000aa_<64 x '1'> */
	char secret[65], hash[65];
	memset(secret, '1', 64);
	secret[64] = 0;
	char *m = xasprintf("salt:%s", secret);
	assert_int_equal(secret_sha256_hex(hash, m, strlen(m)), CRATIS_OK);
	free(m);
	char *text = xasprintf("{\"tokens\": [{\"id\": \"00000000000000aa\", \"subject\": \"old\", \"role\": \"role:ops\", "
	                       "\"created\": \"2026-01-01T00:00:00Z\", \"expires\": null, \"expires_unix\": 0, "
	                       "\"salt\": \"salt\", \"sha256\": \"%s\"}]}",
	                       hash);
	char *path = write_file(dir, "tokens.json", text);
	free(text);
	struct store *st;
	assert_int_equal(store_open_sqlite(&st, db), CRATIS_OK);
	size_t n = 9;
	assert_int_equal(tokens_import(st, path, &n), CRATIS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(access(path, F_OK), -1);
	char *done = xasprintf("%s.imported", path);
	assert_int_equal(access(done, F_OK), 0);
	char *tok = xasprintf("cratis_00000000000000aa_%s", secret);
	struct token_subject who;
	assert_int_equal(token_verify(&who, st, tok), CRATIS_OK);
	assert_string_equal(who.subject, "old");
	/* once: nothing left to import; a file written again is imported without duplicates */
	assert_int_equal(tokens_import(st, path, &n), CRATIS_OK);
	assert_int_equal(n, 0);
	assert_int_equal(rename(done, path), 0);
	assert_int_equal(tokens_import(st, path, &n), CRATIS_OK);
	assert_int_equal(n, 0);
	json_t *list;
	assert_int_equal(token_list(&list, st), CRATIS_OK);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	store_close(st);
	free(tok);
	free(done);
	free(path);
	free(db);
	tmp_cleanup(dir);
}

static void test_server_auth_access_rate(void **state)
{
	(void)state;
	struct access_rate r = { 0 };
	uint64_t sup = 99;
	int64_t t = 1000000;
	/* three a minute: the fourth and fifth in the window are refused and counted */
	for (int i = 0; i < 3; i++) {
		assert_true(access_rate_take(&r, t + i, 3, &sup));
		assert_int_equal(sup, 0);
	}
	assert_false(access_rate_take(&r, t + 10, 3, &sup));
	assert_false(access_rate_take(&r, t + 59999, 3, &sup));
	/* the next window: allowed again, saying two were left out, then the count restarts */
	assert_true(access_rate_take(&r, t + 60000, 3, &sup));
	assert_int_equal(sup, 2);
	assert_true(access_rate_take(&r, t + 60001, 3, &sup));
	assert_int_equal(sup, 0);
	/* a clock that went back starts a new window */
	assert_true(access_rate_take(&r, t, 3, &sup));
}

static void test_server_auth_durations(void **state)
{
	(void)state;
	int64_t s;
	assert_int_equal(duration_parse("30s", &s), CRATIS_OK);
	assert_int_equal(s, 30);
	assert_int_equal(duration_parse("2h", &s), CRATIS_OK);
	assert_int_equal(s, 7200);
	assert_int_equal(duration_parse("90d", &s), CRATIS_OK);
	assert_int_equal(s, 90 * 86400);
	assert_int_equal(duration_parse("0s", &s), CRATIS_EINVAL);
	assert_int_equal(duration_parse("3weeks", &s), CRATIS_EINVAL);
	assert_int_equal(duration_parse("", &s), CRATIS_EINVAL);
}

static void test_server_auth_policy_roles_patterns_and_deny(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *path = write_file(dir, "policy.csv", "# comment\n\n"
	                                  "p, role:deployer, deployments, create, staging/*, allow\n"
	                                  "p, role:deployer, *, get, *\n"
	                                  "p, role:deployer, locks, get, *, deny\n"
	                                  "g, bob, role:deployer\n"
	                                  "g, role:lead, role:deployer\n");
	struct authz z;
	struct diags d = DIAGS_INIT;
	assert_int_equal(authz_load(&z, path, &d), CRATIS_OK);
	struct token_subject dep = { .subject = "ci", .role = "role:deployer" }, bob = { .subject = "bob", .role = "role:nobody" },
	                     lead = { .subject = "carol", .role = "role:lead" }, guest = { .subject = "eve", .role = "role:guest" },
	                     admin = { .subject = "root", .role = "role:admin" }, ro = { .subject = "viewer", .role = "role:readonly" };
	assert_true(authz_allows(&z, &dep, "deployments", "create", "staging/shop"));
	assert_false(authz_allows(&z, &dep, "deployments", "create", "production/shop"));
	assert_true(authz_allows(&z, &dep, "resources", "get", "production/shop"));
	assert_true(authz_allows(&z, &dep, "projects", "get", "")); /* '*' matches the list routes' "" */
	assert_false(authz_allows(&z, &dep, "locks", "get", ""));   /* deny wins */
	assert_true(authz_allows(&z, &bob, "deployments", "create", "staging/x"));  /* g user */
	assert_true(authz_allows(&z, &lead, "deployments", "create", "staging/x")); /* g role, transitively */
	assert_false(authz_allows(&z, &guest, "projects", "get", ""));              /* default deny */
	assert_true(authz_allows(&z, &admin, "projects", "create", "x"));           /* built-in */
	assert_true(authz_allows(&z, &ro, "deployments", "get", "staging/*"));
	assert_false(authz_allows(&z, &ro, "deployments", "create", "staging/x"));
	authz_release(&z);
	/* errors are located: file, line, column, field */
	free(write_file(dir, "policy.csv", "p, role:x, plans, create, */*, perhaps\nq, a, b\np, a, b\n"));
	assert_int_equal(authz_load(&z, path, &d), CRATIS_EINVAL);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.v[0].line, 1);
	assert_int_equal(d.v[0].column, 32);
	assert_string_equal(d.v[0].field, "effect");
	assert_contains(d.v[0].message, "expected allow or deny");
	assert_int_equal(d.v[1].line, 2);
	assert_contains(d.v[1].message, "expected a rule 'p' or 'g'");
	assert_int_equal(d.v[2].line, 3);
	authz_release(&z);
	diags_release(&d);
	/* without a file: only the built-in roles */
	assert_int_equal(authz_load(&z, NULL, &d), CRATIS_OK);
	assert_false(authz_allows(&z, &dep, "projects", "get", ""));
	authz_release(&z);
	free(path);
	tmp_cleanup(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_auth_tokens_are_hashed_verified_and_revoked),
		cmocka_unit_test(test_server_auth_tokens_file_is_imported_once),
		cmocka_unit_test(test_server_auth_access_rate),
		cmocka_unit_test(test_server_auth_durations),
		cmocka_unit_test(test_server_auth_policy_roles_patterns_and_deny),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
