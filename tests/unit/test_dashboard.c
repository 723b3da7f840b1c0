/* Unit tests: the dashboard of cratis serve: If-None-Match against a strong ETag
 * (src/server/etag.c) and the files gen_ui.py built in (content types, lengths, ETags). */
#include "helpers.h"

#include <ctype.h>

#include "server/dashboard.h"

struct fake_calls fake_calls;

static const char E[] = "\"0123456789abcdef0123456789abcdef\"";

static void test_dashboard_etag_matches(void **state)
{
	(void)state;
	assert_true(ui_etag_matches(E, E));
	assert_true(ui_etag_matches("*", E));
	assert_true(ui_etag_matches(" * ", E));
	assert_true(ui_etag_matches("\"x\", \"0123456789abcdef0123456789abcdef\"", E));
	assert_true(ui_etag_matches("W/\"0123456789abcdef0123456789abcdef\"", E)); /* weak comparison */
	assert_true(ui_etag_matches("\"a,b\" ,\t\"0123456789abcdef0123456789abcdef\"", E)); /* comma in a tag */
	assert_false(ui_etag_matches(NULL, E));
	assert_false(ui_etag_matches("", E));
	assert_false(ui_etag_matches("\"x\"", E));
	assert_false(ui_etag_matches("0123456789abcdef0123456789abcdef", E)); /* unquoted */
	assert_false(ui_etag_matches("\"0123456789abcdef0123456789abcde\"", E)); /* a prefix */
	assert_false(ui_etag_matches("\"0123456789abcdef0123456789abcdef0\"", E)); /* longer */
	assert_false(ui_etag_matches("\"x\" junk, \"0123456789abcdef0123456789abcdef\"", E)); /* malformed */
	assert_false(ui_etag_matches("\"unterminated", E));
	assert_false(ui_etag_matches("*x", E));
	assert_false(ui_etag_matches("w/\"0123456789abcdef0123456789abcdef\"", E)); /* W/ is case-sensitive */
}

static void test_dashboard_assets_built_in(void **state)
{
	(void)state;
	static const char *const want[][2] = {
		{ "index.html", "text/html; charset=utf-8" },
		{ "app.js", "text/javascript; charset=utf-8" },
		{ "app.css", "text/css; charset=utf-8" },
		{ "favicon.svg", "image/svg+xml" },
	};
	size_t n = 0;
	for (const struct ui_asset *a = server_ui_assets; a->name; a++, n++) {
		assert_int_equal(strlen((const char *)a->data), a->len); /* NUL-terminated, none inside */
		assert_true(a->len > 0);
		assert_int_equal(strlen(a->etag), 34);
		assert_int_equal(a->etag[0], '"');
		assert_int_equal(a->etag[33], '"');
		for (int i = 1; i < 33; i++)
			assert_true(isxdigit((unsigned char)a->etag[i]) && !isupper((unsigned char)a->etag[i]));
		for (const struct ui_asset *b = server_ui_assets; b != a; b++)
			assert_string_not_equal(a->etag, b->etag);
	}
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		const struct ui_asset *a = NULL;
		for (const struct ui_asset *b = server_ui_assets; b->name; b++)
			if (!strcmp(b->name, want[i][0]))
				a = b;
		assert_non_null(a);
		assert_string_equal(a->ctype, want[i][1]);
	}
	/* the page loads its script and style from its own origin, nothing inline */
	const struct ui_asset *page = server_ui_assets;
	while (strcmp(page->name, "index.html"))
		page++;
	const char *html = (const char *)page->data;
	assert_non_null(strstr(html, "<script src=\"app.js\""));
	assert_non_null(strstr(html, "href=\"app.css\""));
	assert_null(strstr(html, "<script>"));
	assert_null(strstr(html, "style="));
	assert_null(strstr(html, "<style"));
	assert_null(strstr(html, "http"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dashboard_etag_matches),
		cmocka_unit_test(test_dashboard_assets_built_in),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
