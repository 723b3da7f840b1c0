/* Unit tests: libraries opened on first use (util/dynlib.h): a missing library or function is a
 * status and a message naming the library and the package, never a crash. */
#include "helpers.h"

#include "util/dynlib.h"

struct fake_calls fake_calls;

static void test_dynlib_missing_library_names_library_and_package(void **state)
{
	(void)state;
	struct dynlib lib;
	assert_int_equal(dynlib_open(&lib, "libmissing", "libcratis-missing.so.9", "libcratis-missing9"), CRATIS_ENOTFOUND);
	assert_null(lib.handle);
	assert_int_equal(lib.status, CRATIS_ENOTFOUND);
	assert_contains(lib.message, "cannot load libmissing (libcratis-missing.so.9)");
	assert_contains(lib.message, "install the Debian package libcratis-missing9");
	/* nothing is looked up in a library that is not there; the first message stays */
	assert_null(dynlib_sym(&lib, "strlen"));
	assert_contains(lib.message, "cannot load libmissing");
}

static void test_dynlib_resolves_functions(void **state)
{
	(void)state;
	struct dynlib lib;
	assert_int_equal(dynlib_open(&lib, "libc", "libc.so.6", "libc6"), CRATIS_OK);
	assert_non_null(lib.handle);
	assert_string_equal(lib.message, "");
	size_t (*len)(const char *) = (size_t (*)(const char *))dynlib_sym(&lib, "strlen");
	assert_non_null(len);
	assert_int_equal(len("cratis"), 6);
	assert_int_equal(lib.status, CRATIS_OK);
}

static void test_dynlib_missing_function_is_named(void **state)
{
	(void)state;
	struct dynlib lib;
	assert_int_equal(dynlib_open(&lib, "libc", "libc.so.6", "libc6"), CRATIS_OK);
	assert_null(dynlib_sym(&lib, "cratis_no_such_function"));
	assert_int_equal(lib.status, CRATIS_ENOTFOUND);
	assert_contains(lib.message, "libc.so.6 has no function 'cratis_no_such_function'");
	/* a later miss keeps the first message; present functions still resolve */
	assert_null(dynlib_sym(&lib, "cratis_other_missing"));
	assert_contains(lib.message, "'cratis_no_such_function'");
	assert_non_null(dynlib_sym(&lib, "strlen"));
	assert_int_equal(lib.status, CRATIS_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dynlib_missing_library_names_library_and_package),
		cmocka_unit_test(test_dynlib_resolves_functions),
		cmocka_unit_test(test_dynlib_missing_function_is_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
