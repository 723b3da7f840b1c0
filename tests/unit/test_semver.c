/* Unit tests: semantic versions and ranges, driven by the data files in tests/data/semver
 * (SemVer 2.0.0 examples and node-semver's range fixtures). */
#include "helpers.h"

#include "release/semver.h"

struct fake_calls fake_calls;

/* Lines of a data file (comments and blank lines dropped), fields split at tabs. */
static struct strv lines_of(const char *name)
{
	char *path = xasprintf("%s/tests/data/semver/%s", getenv("CRATIS_SOURCE_DIR"), name);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot read %s", path);
	struct strv out = STRV_INIT;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] && line[0] != '#')
			strv_push(&out, line);
	}
	fclose(f);
	free(path);
	return out;
}

/* Split "a\tb\tc" in place; returns the number of fields. */
static int fields(char *line, char **f, int max)
{
	int n = 0;
	f[n++] = line;
	for (char *p = line; *p && n < max; p++)
		if (*p == '\t') {
			*p = '\0';
			f[n++] = p + 1;
		}
	return n;
}

static void test_semver_valid_versions_print_back(void **state)
{
	(void)state;
	struct strv l = lines_of("valid.txt");
	assert_true(l.n >= 10);
	for (size_t i = 0; i < l.n; i++) {
		char *f[2] = { NULL, NULL };
		assert_int_equal(fields(l.v[i], f, 2), 2);
		struct semver v;
		if (semver_parse(&v, f[0]))
			fail_msg("'%s' should be valid: %s", f[0], cratis_error_last()->message);
		char *s = semver_format(&v);
		assert_string_equal(s, f[1]);
		free(s);
		semver_release(&v);
	}
	strv_release(&l);
}

static void test_semver_invalid_versions_explain(void **state)
{
	(void)state;
	struct strv l = lines_of("invalid.tsv");
	assert_true(l.n >= 10);
	for (size_t i = 0; i < l.n; i++) {
		char *f[2] = { NULL, NULL };
		assert_int_equal(fields(l.v[i], f, 2), 2);
		struct semver v;
		error_clear();
		if (semver_parse(&v, f[0]) == 0)
			fail_msg("'%s' should be invalid", f[0]);
		assert_int_equal(cratis_error_last()->status, CRATIS_EINVAL);
		assert_contains(cratis_error_last()->message, f[1]);
	}
	strv_release(&l);
}

static void test_semver_precedence_follows_the_spec(void **state)
{
	(void)state;
	struct strv l = lines_of("precedence.txt");
	size_t n = l.n;
	struct semver *v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(semver_parse(&v[i], l.v[i]), 0);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			int c = semver_compare(&v[i], &v[j]);
			int want = i < j ? -1 : i > j ? 1 : 0;
			if ((c > 0) - (c < 0) != want)
				fail_msg("compare(%s, %s) = %d, want %d", l.v[i], l.v[j], c, want);
		}
	for (size_t i = 0; i < n; i++)
		semver_release(&v[i]);
	free(v);
	/* build metadata does not count (section 10) */
	struct semver a, b;
	assert_int_equal(semver_parse(&a, "1.0.0+build.1"), 0);
	assert_int_equal(semver_parse(&b, "1.0.0+build.2"), 0);
	assert_int_equal(semver_compare(&a, &b), 0);
	assert_false(semver_is_snapshot(&a));
	semver_release(&a);
	semver_release(&b);
	assert_int_equal(semver_parse(&a, "2.0.0-SNAPSHOT"), 0);
	assert_true(semver_is_snapshot(&a));
	semver_release(&a);
	strv_release(&l);
}

static void test_semver_ranges_match_node_semver(void **state)
{
	(void)state;
	struct strv l = lines_of("ranges.tsv");
	assert_true(l.n > 150);
	size_t checked = 0;
	for (size_t i = 0; i < l.n; i++) {
		char *f[3] = { NULL, NULL, NULL };
		assert_int_equal(fields(l.v[i], f, 3), 3);
		struct buf range = BUF_INIT;
		for (const char *p = f[0]; *p; p++) {
			if (p[0] == '\\' && p[1] == 't') {
				buf_addch(&range, '\t');
				p++;
			} else {
				buf_addch(&range, *p);
			}
		}
		bool want = !strcmp(f[2], "include");
		struct semver_range *r;
		if (semver_range_parse(&r, range.ptr))
			fail_msg("range '%s': %s", f[0], cratis_error_last()->message);
		struct semver v;
		bool got = false;
		if (semver_parse(&v, f[1]) == 0) {
			got = semver_range_satisfies(r, &v);
			semver_release(&v);
		} /* an invalid version satisfies nothing */
		if (got != want)
			fail_msg("'%s' %s '%s', expected the opposite", f[1], got ? "satisfies" : "does not satisfy", f[0]);
		semver_range_free(r);
		buf_release(&range);
		checked++;
	}
	assert_int_equal(checked, l.n);
	strv_release(&l);
}

static void test_semver_invalid_ranges_explain(void **state)
{
	(void)state;
	struct strv l = lines_of("range-invalid.tsv");
	for (size_t i = 0; i < l.n; i++) {
		char *f[2] = { NULL, NULL };
		assert_int_equal(fields(l.v[i], f, 2), 2);
		struct semver_range *r;
		error_clear();
		if (semver_range_parse(&r, f[0]) != CRATIS_EINVAL)
			fail_msg("range '%s' should be invalid", f[0]);
		assert_int_equal(cratis_error_last()->status, CRATIS_EINVAL);
		assert_contains(cratis_error_last()->message, f[1]);
		assert_contains(cratis_error_last()->message, "invalid range");
	}
	strv_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_semver_valid_versions_print_back),
		cmocka_unit_test(test_semver_invalid_versions_explain),
		cmocka_unit_test(test_semver_precedence_follows_the_spec),
		cmocka_unit_test(test_semver_ranges_match_node_semver),
		cmocka_unit_test(test_semver_invalid_ranges_explain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
