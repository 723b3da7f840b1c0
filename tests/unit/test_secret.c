/* Unit tests: secret providers, the keyed hash and scrubbing (issue 9 item 11). */
#include "helpers.h"

#include <sys/stat.h>

#include "secret/secret.h"

struct fake_calls fake_calls;

/* get name from defs, expecting status; returns the value (or NULL) */
static char *get(struct secret_store *s, const json_t *defs, const char *name, int status)
{
	char *v = NULL;
	error_clear();
	assert_int_equal(secret_store_get(s, &v, defs, "p", name), status);
	if (status)
		assert_null(v);
	return v;
}

static void test_secret_providers(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	free(write_file(dir, "pw", "from-file-1\n"));
	free(write_file(dir, "tool", "#!/bin/sh\necho from-command-1\n"));
	free(write_file(dir, "bad", "#!/bin/sh\necho leaked-output-1; echo leaked-err-1 >&2; exit 4\n"));
	char *tool = xasprintf("%s/tool", dir), *bad = xasprintf("%s/bad", dir);
	assert_int_equal(chmod(tool, 0700), 0);
	assert_int_equal(chmod(bad, 0700), 0);
	setenv("CRATIS_T_PW", "from-env-1", 1);
	unsetenv("CRATIS_T_NONE");
	json_t *defs = json_pack("{s:{s:s},s:{s:s},s:{s:[s]},s:{s:[s]},s:{s:s},s:{s:s,s:s},s:{s:s}}",
	                         "e", "env", "CRATIS_T_PW", "f", "file", "pw", "c", "command", tool, "b", "command", bad,
	                         "u", "env", "CRATIS_T_NONE", "two", "env", "X", "file", "y", "m", "file", "missing");
	struct secret_store *s = secret_store_new(dir, dir, 5000, NULL);
	char *v = get(s, defs, "e", CRATIS_OK);
	assert_string_equal(v, "from-env-1");
	free(v);
	v = get(s, defs, "f", CRATIS_OK);
	assert_string_equal(v, "from-file-1");   /* one trailing newline dropped */
	free(v);
	v = get(s, defs, "c", CRATIS_OK);
	assert_string_equal(v, "from-command-1");
	free(v);
	get(s, defs, "b", CRATIS_EIO);
	assert_contains(cratis_error_last()->message, "exited with status 4");
	assert_null(strstr(cratis_error_last()->message, "leaked"));
	get(s, defs, "u", CRATIS_ENOTFOUND);
	assert_contains(cratis_error_last()->message, "environment variable 'CRATIS_T_NONE' is not set");
	get(s, defs, "two", CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "exactly one of");
	get(s, defs, "m", CRATIS_ENOTFOUND);
	get(s, defs, "nope", CRATIS_ENOTFOUND);
	assert_contains(cratis_error_last()->message, "unknown secret 'nope' (declared in Project/p spec.secrets: e, f, c, b, u, two, m)");
	/* read once per store: a changed variable is seen by the next run only */
	setenv("CRATIS_T_PW", "from-env-2", 1);
	v = get(s, defs, "e", CRATIS_OK);
	assert_string_equal(v, "from-env-1");
	free(v);
	secret_store_free(s);
	json_decref(defs);
	free(tool);
	free(bad);
	unsetenv("CRATIS_T_PW");
	tmp_cleanup(dir);
}

static void test_secret_redact_and_scrub(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	struct secret_store *s = secret_store_new(dir, dir, 0, NULL);
	char *a = NULL, *b = NULL, *c = NULL;
	assert_int_equal(secret_store_redact(s, &a, "hunter2", 7), CRATIS_OK);
	assert_int_equal(secret_store_redact(s, &b, "hunter2", 7), CRATIS_OK);
	assert_int_equal(secret_store_redact(s, &c, "hunter3", 7), CRATIS_OK);
	assert_true(starts_with(a, "(sensitive) hmac-sha256:"));
	assert_int_equal(strlen(a), strlen("(sensitive) hmac-sha256:") + 64);
	assert_string_equal(a, b);       /* stable: an unchanged value plans no change */
	assert_string_not_equal(a, c);   /* a changed value does */
	assert_null(strstr(a, "hunter"));
	char *key = xasprintf("%s/secret.key", dir);
	struct stat st;
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	secret_store_free(s);
	/* the same key next time: the same hash */
	s = secret_store_new(dir, dir, 0, NULL);
	free(b);
	assert_int_equal(secret_store_redact(s, &b, "hunter2", 7), CRATIS_OK);
	assert_string_equal(a, b);
	/* scrubbing what a plugin says back */
	assert_null(secret_store_scrub(s, "nothing to hide"));
	secret_store_remember(s, "hunter2");
	secret_store_remember(s, "ab");   /* too short to hide without hiding everything */
	char *t = secret_store_scrub(s, "bad password hunter2, hunter2!");
	assert_string_equal(t, "bad password (sensitive), (sensitive)!");
	free(t);
	assert_null(secret_store_scrub(s, "about ab"));
	secret_store_free(s);
	free(a);
	free(b);
	free(c);
	free(key);
	tmp_cleanup(dir);
}

/* The hash is HMAC-SHA256 (RFC 2104, FIPS 180-4) under the key file's 32 bytes: values from
 * Python's hmac module for the key 0x0b * 32 */
static void test_secret_hmac_known_answers(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *key = xasprintf("%s/secret.key", dir);
	FILE *f = fopen(key, "w");
	assert_non_null(f);
	for (int i = 0; i < 32; i++)
		fputc(0x0b, f);
	fclose(f);
	struct secret_store *s = secret_store_new(dir, dir, 0, NULL);
	char *a = NULL, *b = NULL, long_value[201];
	memset(long_value, 'x', 200);
	long_value[200] = '\0';
	assert_int_equal(secret_store_redact(s, &a, "Hi There", 8), CRATIS_OK);
	assert_string_equal(a, "(sensitive) hmac-sha256:198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7");
	assert_int_equal(secret_store_redact(s, &b, long_value, 200), CRATIS_OK);
	assert_string_equal(b, "(sensitive) hmac-sha256:9d5064b39db82c9594c986ee5758fa1d61fc393770d76ced3dc686ef83e05868");
	secret_store_free(s);
	free(a);
	free(b);
	free(key);
	tmp_cleanup(dir);
}

/* Sealed outputs (issue 9 item 11): the recorded form holds the keyed hash and a ciphertext,
 * never the value; it opens with the same key to the same JSON, and not with another key or
 * after a change of one character. */
static void test_secret_seal(void **state)
{
	(void)state;
	char *dir = tmp_dir(), *dir2 = tmp_dir();
	struct secret_store *s = secret_store_new(dir, dir, 0, NULL), *other = secret_store_new(dir2, dir2, 0, NULL);
	json_t *v = json_pack("{s:s,s:i}", "token", "tok-sealed-4711", "n", 3);
	char *a = NULL, *b = NULL, *h = NULL;
	assert_int_equal(secret_store_seal(s, &a, v), CRATIS_OK);
	assert_int_equal(secret_store_seal(s, &b, v), CRATIS_OK);
	assert_true(secret_is_sealed(a));
	assert_null(strstr(a, "tok-sealed-4711"));
	/* a fresh nonce each time, the same hash part */
	assert_string_not_equal(a, b);
	size_t hl = (size_t)(strstr(a, SECRET_SEALED) - a);
	assert_memory_equal(a, b, hl);
	const char *plain = "{\"n\":3,\"token\":\"tok-sealed-4711\"}";
	assert_int_equal(secret_store_redact(s, &h, plain, strlen(plain)), CRATIS_OK);
	assert_int_equal(strlen(h), hl);
	assert_memory_equal(a, h, hl);
	json_t *back = NULL;
	assert_int_equal(secret_store_unseal(s, &back, a), CRATIS_OK);
	assert_true(json_equal(back, v));
	json_decref(back);
	/* another key, a flipped character, a truncated text, something else */
	assert_int_equal(secret_store_unseal(other, &back, a), CRATIS_EINVAL);
	assert_null(back);
	assert_non_null(strstr(cratis_error_last()->message, "secret.key"));
	char *bad = xstrdup(a);
	char *p = bad + strlen(bad) - 6;
	*p = *p == 'A' ? 'B' : 'A';
	assert_int_equal(secret_store_unseal(s, &back, bad), CRATIS_EINVAL);
	bad[hl + strlen(SECRET_SEALED) + 8] = '\0';
	assert_int_equal(secret_store_unseal(s, &back, bad), CRATIS_EINVAL);
	assert_int_equal(secret_store_unseal(s, &back, "(sensitive) hmac-sha256:00"), CRATIS_EINVAL);
	assert_false(secret_is_sealed("plain sealed:v1:x"));
	/* what listings show: the hash part only, everywhere inside a document */
	json_t *doc = json_pack("{s:s,s:[s],s:s}", "a", a, "l", b, "plain", "x");
	json_t *pub = secret_public(doc);
	char *text = json_dumps(pub, JSON_COMPACT);
	assert_null(strstr(text, "sealed:"));
	assert_non_null(strstr(text, h));
	assert_non_null(strstr(text, "\"plain\":\"x\""));
	free(text);
	json_decref(pub);
	json_decref(doc);
	json_decref(v);
	free(a);
	free(b);
	free(h);
	free(bad);
	secret_store_free(s);
	secret_store_free(other);
	tmp_cleanup(dir);
	tmp_cleanup(dir2);
}

/* A key file given (CRATIS_SECRET_KEY_FILE): two state directories that share it agree on hashes
 * and open each other's sealed values (a team on shared state); it is never created. */
static void test_secret_shared_key_file(void **state)
{
	(void)state;
	char *a = tmp_dir(), *b = tmp_dir(), *k = tmp_dir();
	char *key = xasprintf("%s/team.key", k);
	struct secret_store *missing = secret_store_new(a, a, 0, key);
	char *h1 = NULL, *h2 = NULL, *sealed = NULL;
	assert_int_equal(secret_store_redact(missing, &h1, "v", 1), CRATIS_EIO);
	assert_non_null(strstr(cratis_error_last()->message, "team.key"));
	assert_int_equal(access(key, F_OK), -1);
	secret_store_free(missing);
	FILE *f = fopen(key, "w");
	assert_non_null(f);
	for (int i = 0; i < 32; i++)
		fputc(i, f);
	fclose(f);
	struct secret_store *sa = secret_store_new(a, a, 0, key), *sb = secret_store_new(b, b, 0, key);
	assert_int_equal(secret_store_redact(sa, &h1, "shared-v", 8), CRATIS_OK);
	assert_int_equal(secret_store_redact(sb, &h2, "shared-v", 8), CRATIS_OK);
	assert_string_equal(h1, h2);
	json_t *v = json_string("shared-v"), *back = NULL;
	assert_int_equal(secret_store_seal(sa, &sealed, v), CRATIS_OK);
	assert_int_equal(secret_store_unseal(sb, &back, sealed), CRATIS_OK);
	assert_true(json_equal(v, back));
	/* neither state directory got a key of its own */
	char *own = xasprintf("%s/secret.key", a);
	assert_int_equal(access(own, F_OK), -1);
	json_decref(v);
	json_decref(back);
	free(own);
	free(h1);
	free(h2);
	free(sealed);
	free(key);
	secret_store_free(sa);
	secret_store_free(sb);
	tmp_cleanup(a);
	tmp_cleanup(b);
	tmp_cleanup(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_providers),
		cmocka_unit_test(test_secret_redact_and_scrub),
		cmocka_unit_test(test_secret_hmac_known_answers),
		cmocka_unit_test(test_secret_seal),
		cmocka_unit_test(test_secret_shared_key_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
