/* Unit tests: .cratisignore rules (manifest/ignore.h), gitignore's pattern format around fnmatch. */
#include "helpers.h"

#include "manifest/ignore.h"

struct fake_calls fake_calls;

static struct ignore rules(const char *text)
{
	struct ignore ig = IGNORE_INIT;
	ignore_add_text(&ig, text, strlen(text));
	return ig;
}

static void test_ignore_comments_and_blank_lines(void **state)
{
	(void)state;
	struct ignore ig = rules("# a comment\n\n   \n#*.yaml\n");
	assert_int_equal(ig.n, 0);
	assert_false(ignore_match(&ig, "a.yaml", false));
	ignore_release(&ig);
	/* an escaped '#' is a pattern */
	ig = rules("\\#x.yaml\n");
	assert_int_equal(ig.n, 1);
	assert_true(ignore_match(&ig, "#x.yaml", false));
	ignore_release(&ig);
}

static void test_ignore_basename_at_any_depth(void **state)
{
	(void)state;
	struct ignore ig = rules("*.gen.yaml\ndocker-compose.yml\n");
	assert_true(ignore_match(&ig, "a.gen.yaml", false));
	assert_true(ignore_match(&ig, "deep/er/b.gen.yaml", false));
	assert_true(ignore_match(&ig, "sub/docker-compose.yml", false));
	assert_false(ignore_match(&ig, "a.yaml", false));
	assert_false(ignore_match(&ig, "gen.yaml", false));
	ignore_release(&ig);
}

static void test_ignore_star_does_not_cross_slash(void **state)
{
	(void)state;
	struct ignore ig = rules("config/*.yaml\n");
	assert_true(ignore_match(&ig, "config/a.yaml", false));
	assert_false(ignore_match(&ig, "config/sub/a.yaml", false));
	/* a slash in the middle anchors: not config/ at depth */
	assert_false(ignore_match(&ig, "x/config/a.yaml", false));
	ignore_release(&ig);
}

static void test_ignore_anchored_with_leading_slash(void **state)
{
	(void)state;
	struct ignore ig = rules("/build\n");
	assert_true(ignore_match(&ig, "build", true));
	assert_true(ignore_match(&ig, "build", false));
	assert_false(ignore_match(&ig, "sub/build", true));
	ignore_release(&ig);
}

static void test_ignore_trailing_slash_means_directory(void **state)
{
	(void)state;
	struct ignore ig = rules("out/\n");
	assert_true(ignore_match(&ig, "out", true));
	assert_true(ignore_match(&ig, "a/b/out", true));
	assert_false(ignore_match(&ig, "out", false));
	ignore_release(&ig);
}

static void test_ignore_double_star(void **state)
{
	(void)state;
	struct ignore ig = rules("**/charts\n");
	assert_true(ignore_match(&ig, "charts", true));
	assert_true(ignore_match(&ig, "a/b/charts", true));
	ignore_release(&ig);
	ig = rules("vendor/**\n");
	assert_true(ignore_match(&ig, "vendor/a.yaml", false));
	assert_true(ignore_match(&ig, "vendor/x/y/a.yaml", false));
	assert_false(ignore_match(&ig, "vendor", true)); /* what is inside, not the directory */
	ignore_release(&ig);
	ig = rules("a/**/b.yaml\n");
	assert_true(ignore_match(&ig, "a/b.yaml", false));
	assert_true(ignore_match(&ig, "a/x/b.yaml", false));
	assert_true(ignore_match(&ig, "a/x/y/b.yaml", false));
	assert_false(ignore_match(&ig, "z/a/x/b.yaml", false));
	ignore_release(&ig);
}

static void test_ignore_negation_last_rule_wins(void **state)
{
	(void)state;
	struct ignore ig = rules("*.yaml\n!keep.yaml\n");
	assert_true(ignore_match(&ig, "a.yaml", false));
	assert_false(ignore_match(&ig, "keep.yaml", false));
	assert_false(ignore_match(&ig, "sub/keep.yaml", false));
	ignore_release(&ig);
	/* order matters: a later positive rule ignores again */
	ig = rules("!keep.yaml\n*.yaml\n");
	assert_true(ignore_match(&ig, "keep.yaml", false));
	ignore_release(&ig);
	/* an escaped '!' is a literal name */
	ig = rules("\\!important.yaml\n");
	assert_true(ignore_match(&ig, "!important.yaml", false));
	assert_false(ignore_match(&ig, "important.yaml", false));
	ignore_release(&ig);
}

static void test_ignore_brackets_and_question_mark(void **state)
{
	(void)state;
	struct ignore ig = rules("env-?.yaml\n[ab]*.yml\n");
	assert_true(ignore_match(&ig, "env-1.yaml", false));
	assert_false(ignore_match(&ig, "env-10.yaml", false));
	assert_true(ignore_match(&ig, "b.yml", false));
	assert_false(ignore_match(&ig, "c.yml", false));
	ignore_release(&ig);
}

static void test_ignore_crlf_and_trailing_spaces(void **state)
{
	(void)state;
	struct ignore ig = rules("tmp.yaml  \r\nx.yaml\r\n");
	assert_true(ignore_match(&ig, "tmp.yaml", false));
	assert_true(ignore_match(&ig, "x.yaml", false));
	ignore_release(&ig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ignore_comments_and_blank_lines),
		cmocka_unit_test(test_ignore_basename_at_any_depth),
		cmocka_unit_test(test_ignore_star_does_not_cross_slash),
		cmocka_unit_test(test_ignore_anchored_with_leading_slash),
		cmocka_unit_test(test_ignore_trailing_slash_means_directory),
		cmocka_unit_test(test_ignore_double_star),
		cmocka_unit_test(test_ignore_negation_last_rule_wins),
		cmocka_unit_test(test_ignore_brackets_and_question_mark),
		cmocka_unit_test(test_ignore_crlf_and_trailing_spaces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
