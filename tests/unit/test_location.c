/* Unit tests: manifest locations (manifest/location.h): the Terraform module source forms, what
 * is refused, and the cache key; and the plugin lock file (plugin/install.h). */
#include "helpers.h"

#include <stdio.h>
#include <unistd.h>

#include "manifest/location.h"
#include "plugin/install.h"
#include "util/error.h"

struct fake_calls fake_calls;

static void parsed(const char *text, const char *url, const char *subdir, const char *ref)
{
	struct location l;
	assert_true(location_is_git(text));
	assert_int_equal(location_parse(&l, text), CRATIS_OK);
	assert_string_equal(l.text, text);
	assert_string_equal(l.url, url);
	assert_string_equal(l.subdir, subdir);
	if (ref)
		assert_string_equal(l.ref, ref);
	else
		assert_null(l.ref);
	location_release(&l);
}

static void test_location_forms(void **state)
{
	(void)state;
	parsed("git::https://example.com/infra.git//systems?ref=v1.2.0", "https://example.com/infra.git", "systems", "v1.2.0");
	parsed("https://example.com/infra.git", "https://example.com/infra.git", "", NULL);
	parsed("ssh://git@example.com:2222/org/infra.git//a/b/?ref=main", "ssh://git@example.com:2222/org/infra.git", "a/b", "main");
	parsed("file:///srv/git/infra.git?ref=0123abc", "file:///srv/git/infra.git", "", "0123abc");
	parsed("git@github.com:org/infra.git//envs?ref=release/1.x", "git@github.com:org/infra.git", "envs", "release/1.x");
	parsed("git::git@github.com:org/infra.git", "git@github.com:org/infra.git", "", NULL);
	parsed("git://127.0.0.1:9418/infra.git//systems", "git://127.0.0.1:9418/infra.git", "systems", NULL);
}

static void test_location_local_paths_are_not_git(void **state)
{
	(void)state;
	assert_false(location_is_git("deploy.yaml"));
	assert_false(location_is_git("./infra/systems"));
	assert_false(location_is_git("/abs/path:with/colon"));
	assert_false(location_is_git("dir@2/x:y"));  /* a '/' before the ':': a path */
	assert_false(location_is_git(NULL));
}

static void refused(const char *text, const char *needle)
{
	struct location l = { 0 };
	assert_int_equal(location_parse(&l, text), CRATIS_EINVAL);
	assert_null(l.url);
	assert_non_null(strstr(cratis_error_last()->message, needle));
}

static void test_location_refused(void **state)
{
	(void)state;
	refused("git::https://example.com/x.git?depth=1", "unsupported query 'depth=1'");
	refused("git::https://example.com/x.git?ref=", "unsupported query 'ref='");
	refused("git::https://example.com/x.git//a/../../etc", "may not hold '..'");
	refused("git::https://example.com/x.git///etc", "must be relative");
	refused("git::", "no repository URL");
}

static void test_location_cache_key(void **state)
{
	(void)state;
	struct location a, b, c;
	assert_int_equal(location_parse(&a, "git::https://example.com/infra.git//one?ref=v1"), 0);
	assert_int_equal(location_parse(&b, "git::https://example.com/infra.git//two?ref=v1"), 0);
	assert_int_equal(location_parse(&c, "git::https://example.com/infra.git?ref=v2"), 0);
	char *ka = location_cache_key(&a), *kb = location_cache_key(&b), *kc = location_cache_key(&c);
	/* one clone per repository and ref, whatever the subdir; readable, no '/' */
	assert_string_equal(ka, kb);
	assert_string_not_equal(ka, kc);
	assert_null(strchr(ka, '/'));
	assert_non_null(strstr(ka, "example.com_infra.git@v1-"));
	free(ka);
	free(kb);
	free(kc);
	location_release(&a);
	location_release(&b);
	location_release(&c);
}

static void test_location_lock_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/cratis-lock-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/plugins.lock", dir);
	json_t *lock = NULL;
	assert_int_equal(plugin_lock_read(&lock, path), CRATIS_OK);  /* missing: empty */
	assert_int_equal(json_object_size(json_object_get(lock, "plugins")), 0);
	json_decref(lock);
	assert_int_equal(plugin_lock_set(path, "echo", "1.2.0", "https://x/echo.tar.gz", "ab"), CRATIS_OK);
	assert_int_equal(plugin_lock_set(path, "zed", "0.1.0", "/p/zed.tar.gz", "cd"), CRATIS_OK);
	assert_int_equal(plugin_lock_remove(path, "zed"), CRATIS_OK);
	assert_int_equal(plugin_lock_read(&lock, path), CRATIS_OK);
	json_t *e = json_object_get(json_object_get(lock, "plugins"), "echo");
	assert_string_equal(json_string_value(json_object_get(e, "version")), "1.2.0");
	assert_string_equal(json_string_value(json_object_get(e, "sha256")), "ab");
	assert_null(json_object_get(json_object_get(lock, "plugins"), "zed"));
	json_decref(lock);
	FILE *f = fopen(path, "w");
	fputs("{\"plugins\": []}", f);
	fclose(f);
	assert_int_equal(plugin_lock_read(&lock, path), CRATIS_EINVAL);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_location_forms),
		cmocka_unit_test(test_location_local_paths_are_not_git),
		cmocka_unit_test(test_location_refused),
		cmocka_unit_test(test_location_cache_key),
		cmocka_unit_test(test_location_lock_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
