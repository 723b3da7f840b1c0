/* Unit tests: the diagnostics type (text rendering, JSON, moving lists, foreign bytes). */
#include "helpers.h"

#include "util/diag.h"

static void test_diag_format_parts(void **state)
{
	(void)state;
	struct diags d = DIAGS_INIT;
	diag_locate(diags_errorf(&d, CRATIS_EINVAL, "expected %s", "a string"), "m.yaml", 3, 7, "spec.path");
	diag_locate(diags_errorf(&d, CRATIS_EINVAL, "unknown environment 'qa'"), NULL, 0, 0, "--env");
	diags_add(&d, DIAG_WARNING, CRATIS_OK, "plain");
	diag_hint(diags_errorf(&d, CRATIS_EIO, "cannot read"), "run %s", "again");
	struct buf b = BUF_INIT;
	const char *want[] = { "m.yaml:3:7: spec.path: expected a string", "--env: unknown environment 'qa'", "plain",
	                       "cannot read\nhint: run again" };
	for (size_t i = 0; i < d.n; i++) {
		buf_clear(&b);
		diag_format(&d.v[i], &b);
		assert_string_equal(b.ptr, want[i]);
	}
	assert_int_equal(diags_errors(&d), 3);
	assert_int_equal(diags_status(&d), CRATIS_EINVAL);
	buf_release(&b);
	diags_release(&d);
}

static void test_diag_file_without_line(void **state)
{
	(void)state;
	struct diags d = DIAGS_INIT;
	diag_locate(diags_errorf(&d, CRATIS_EIO, "no such file"), "x.yaml", 0, 0, NULL);
	struct buf b = BUF_INIT;
	diag_format(&d.v[0], &b);
	assert_string_equal(b.ptr, "x.yaml: no such file");
	buf_release(&b);
	diags_release(&d);
}

static void test_diag_json(void **state)
{
	(void)state;
	struct diags d = DIAGS_INIT;
	struct diag *dg = diags_errorf(&d, CRATIS_EINVAL, "unknown field 'helth'");
	diag_locate(dg, "m.yaml", 5, 3, "spec.helth");
	diag_hint(dg, "did you mean 'health'?");
	diags_add(&d, DIAG_WARNING, CRATIS_OK, "partial run");
	json_t *j = diags_to_json(&d);
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text,
	                    "[{\"column\":3,\"field\":\"spec.helth\",\"file\":\"m.yaml\",\"hint\":\"did you mean 'health'?\","
	                    "\"line\":5,\"message\":\"unknown field 'helth'\",\"severity\":\"error\",\"status\":\"CRATIS_EINVAL\"},"
	                    "{\"message\":\"partial run\",\"severity\":\"warning\",\"status\":\"CRATIS_OK\"}]");
	free(text);
	json_decref(j);
	diags_release(&d);
}

static void test_diag_json_invalid_utf8(void **state)
{
	(void)state;
	struct diags d = DIAGS_INIT;
	diags_errorf(&d, CRATIS_EINVAL, "value '%s' is odd", "a\xff" "b\xc3");
	json_t *j = diags_to_json(&d);
	assert_non_null(j);
	const char *m = json_string_value(json_object_get(json_array_get(j, 0), "message"));
	assert_non_null(m);
	assert_string_equal(m, "value 'a\xEF\xBF\xBD" "b\xEF\xBF\xBD' is odd");
	json_decref(j);
	diags_release(&d);
}

static void test_diag_move_and_prefix(void **state)
{
	(void)state;
	struct diags a = DIAGS_INIT, b = DIAGS_INIT;
	diags_errorf(&a, CRATIS_EINVAL, "first");
	diags_errorf(&b, CRATIS_EPLUGIN, "second");
	diag_prefix(&b.v[0], "plugin '%s'", "x");
	diags_move(&a, &b);
	assert_int_equal(a.n, 2);
	assert_int_equal(b.n, 0);
	assert_string_equal(a.v[1].message, "plugin 'x': second");
	assert_int_equal(a.v[1].status, CRATIS_EPLUGIN);
	diags_release(&a);
	diags_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diag_format_parts),
		cmocka_unit_test(test_diag_file_without_line),
		cmocka_unit_test(test_diag_json),
		cmocka_unit_test(test_diag_json_invalid_utf8),
		cmocka_unit_test(test_diag_move_and_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
