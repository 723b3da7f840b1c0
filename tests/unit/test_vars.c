/* Unit tests: variable interpolation. */
#include "helpers.h"

#include "manifest/vars.h"

struct fake_calls fake_calls;

static json_t *vars(void)
{
	return json_pack("{s:i,s:s,s:b}", "port", 8080, "host", "example", "on", 1);
}

static char *expand(const char *in, int partial, char **err)
{
	json_t *v = vars(), *out = NULL;
	struct vars_ctx c = { .variables = v, .partial = partial };
	*err = NULL;
	char *res = NULL;
	if (vars_expand_string(in, &c, &out, err) == 0) {
		res = json_is_string(out) ? xstrdup(json_string_value(out)) : json_dumps(out, JSON_ENCODE_ANY);
		json_decref(out);
	}
	json_decref(v);
	return res;
}

static void check(const char *in, const char *want)
{
	char *err, *got = expand(in, 0, &err);
	if (!got)
		fail_msg("'%s': unexpected error %s", in, err);
	assert_string_equal(got, want);
	free(got);
}

static void check_err(const char *in, const char *want)
{
	char *err, *got = expand(in, 0, &err);
	assert_null(got);
	assert_contains(err, want);
	free(err);
}

static void test_vars_plain_and_embedded(void **state)
{
	(void)state;
	check("no references", "no references");
	check("http://${host}:${port}/x", "http://example:8080/x");
	check("${port}", "8080");       /* whole string: an integer, dumped as JSON */
	check("${on}", "true");
	check("a$b", "a$b");
	check("$${host} is literal", "${host} is literal");
}

static void test_vars_env(void **state)
{
	(void)state;
	setenv("CRATIS_T_A", "alpha", 1);
	unsetenv("CRATIS_T_NONE");
	check("${env:CRATIS_T_A}", "alpha");
	check("x-${env:CRATIS_T_NONE:-fallback}-y", "x-fallback-y");
	check("${env:CRATIS_T_NONE:-}", "");
	check_err("${env:CRATIS_T_NONE}", "environment variable 'CRATIS_T_NONE' is not set");
	/* a value that is not UTF-8 is an error showing its bytes, never "(null)" */
	setenv("CRATIS_T_BAD", "ab\xff\x01\"c", 1);
	check_err("x ${env:CRATIS_T_BAD}", "environment variable 'CRATIS_T_BAD' is not valid UTF-8: \"ab\\xff\\x01\\x22c\"");
	unsetenv("CRATIS_T_BAD");
}

static void test_vars_errors(void **state)
{
	(void)state;
	check_err("${missing}", "unknown variable 'missing' (defined: port, host, on)");
	check_err("open ${host", "unterminated '${'");
	check_err("${}", "empty reference");
	check_err("${Kind/name.key}", "expected ${Kind/name.outputs.key}");
	check_err("${secret:db}", "secret references are not supported yet");
}

static void test_vars_partial_keeps_outputs_and_escapes(void **state)
{
	(void)state;
	char *err, *got = expand("${host} ${Task/a.outputs.dir} $${x}", 1, &err);
	assert_string_equal(got, "example ${Task/a.outputs.dir} $${x}");
	free(got);
}

static int ref(const char *id, const char *key, json_t **out, char **err, void *payload)
{
	(void)payload;
	(void)err;
	if (!strcmp(id, "Task/a") && !strcmp(key, "dir"))
		*out = json_string("/srv/a");
	return 0;
}

static void test_vars_output_references(void **state)
{
	(void)state;
	struct vars_ctx c = { .ref = ref, .unknown = "(known after apply)" };
	json_t *out;
	char *err;
	assert_int_equal(vars_expand_string("${Task/a.outputs.dir}/x ${Task/b.outputs.y}", &c, &out, &err), 0);
	assert_string_equal(json_string_value(out), "/srv/a/x (known after apply)");
	json_decref(out);
	json_t *tree = json_pack("{s:[s,s],s:{s:s}}", "argv", "ls", "${Task/a.outputs.dir}", "nested", "d", "${Task/c.outputs.z}");
	struct strv ids = STRV_INIT;
	vars_collect_refs(tree, &ids);
	assert_int_equal(ids.n, 2);
	assert_string_equal(ids.v[0], "Task/a");
	assert_string_equal(ids.v[1], "Task/c");
	strv_release(&ids);
	json_decref(tree);
}

static int errors_seen;
static char last_field[64];
static void on_err(const char *field, const char *msg, void *p)
{
	(void)msg;
	(void)p;
	errors_seen++;
	snprintf(last_field, sizeof(last_field), "%s", field);
}

static void test_vars_tree_reports_field_paths(void **state)
{
	(void)state;
	json_t *v = vars();
	struct vars_ctx c = { .variables = v, .partial = 1 };
	json_t *tree = json_pack("{s:[s,s],s:{s:s}}", "argv", "serve", "${port}", "health", "http", "${nope}");
	errors_seen = 0;
	assert_int_equal(vars_expand_tree(&tree, "spec", &c, on_err, NULL), 1);
	assert_string_equal(last_field, "spec.health.http");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(tree, "argv"), 1)), 8080);
	json_decref(tree);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vars_plain_and_embedded),
		cmocka_unit_test(test_vars_env),
		cmocka_unit_test(test_vars_errors),
		cmocka_unit_test(test_vars_partial_keeps_outputs_and_escapes),
		cmocka_unit_test(test_vars_output_references),
		cmocka_unit_test(test_vars_tree_reports_field_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
