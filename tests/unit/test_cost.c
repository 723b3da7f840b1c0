/* Unit tests: integer micro-unit money (capability/money.h) and the Lua sandbox of cost-model
 * formulas (capability/sandbox.h): io, os, require and load absent, runaway loops and memory
 * stopped, globals fresh per evaluation, library tables read-only; and which OpenTofu executable
 * the capability handlers run (capability/deploy.h). */
#include "helpers.h"

#include <sys/stat.h>

#include "capability/deploy.h"
#include "capability/money.h"
#include "capability/sandbox.h"

struct fake_calls fake_calls;

static void test_money_parse(void **state)
{
	(void)state;
	int64_t v;
	assert_int_equal(money_parse(&v, "0.04048"), 0);
	assert_int_equal(v, 40480);
	assert_int_equal(money_parse(&v, "12"), 0);
	assert_int_equal(v, 12000000);
	assert_int_equal(money_parse(&v, "0.000001"), 0);
	assert_int_equal(v, 1);
	assert_int_equal(money_parse(&v, ".5"), 0);
	assert_int_equal(v, 500000);
	/* refused: 7 decimals, sign, exponent, empty, two dots, letters, overflow */
	assert_int_equal(money_parse(&v, "0.0000001"), -1);
	assert_int_equal(money_parse(&v, "-1"), -1);
	assert_int_equal(money_parse(&v, "1e3"), -1);
	assert_int_equal(money_parse(&v, ""), -1);
	assert_int_equal(money_parse(&v, "."), -1);
	assert_int_equal(money_parse(&v, "1.2.3"), -1);
	assert_int_equal(money_parse(&v, "99999999999999999999"), -1);
}

static void test_money_products_and_sums(void **state)
{
	(void)state;
	int64_t q, p, c;
	/* 1460 vCPU-hours x 0.04048 = 59.1008 exactly */
	assert_int_equal(money_from_int(&q, 1460), 0);
	assert_int_equal(money_parse(&p, "0.04048"), 0);
	assert_int_equal(money_mul(&c, q, p), 0);
	assert_int_equal(c, 59100800);
	/* 0.1 + 0.2 summed as micro-units is 0.3, unlike binary floating point */
	int64_t a = 0, x, y;
	money_parse(&x, "0.1");
	money_parse(&y, "0.2");
	assert_int_equal(money_add(&a, x), 0);
	assert_int_equal(money_add(&a, y), 0);
	assert_int_equal(a, 300000);
	/* a product below a micro-unit rounds half up: 0.5 µ -> 1 µ, 0.4 µ -> 0 */
	assert_int_equal(money_mul(&c, 500000, 1), 0);
	assert_int_equal(c, 1);
	assert_int_equal(money_mul(&c, 400000, 1), 0);
	assert_int_equal(c, 0);
	/* a double quantity is rounded once to a micro-unit */
	assert_int_equal(money_from_double(&q, 0.0976562), 0);
	assert_int_equal(q, 97656);
	assert_int_equal(money_from_double(&q, 2920.0), 0);
	assert_int_equal(q, 2920000000);
	assert_int_equal(money_from_double(&q, -1), -1);
	assert_int_equal(money_from_double(&q, 1.0 / 0.0), -1);
	assert_int_equal(money_from_int(&q, -3), -1);
	/* overflow is an error, not a wrap */
	assert_int_equal(money_mul(&c, INT64_MAX / 2, 3000000), -1);
	a = INT64_MAX;
	assert_int_equal(money_add(&a, 1), -1);
	assert_int_equal(a, INT64_MAX);
}

static void test_money_format(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	money_format(&b, 59100800, 2);
	assert_string_equal(b.ptr, "59.1008");
	buf_clear(&b);
	money_format(&b, 5750000, 2);
	assert_string_equal(b.ptr, "5.75");
	buf_clear(&b);
	money_format(&b, 3000000, 0);
	assert_string_equal(b.ptr, "3");
	buf_clear(&b);
	money_format(&b, -40480, 0);
	assert_string_equal(b.ptr, "-0.04048");
	buf_clear(&b);
	money_format_cents(&b, 1129026200);
	assert_string_equal(b.ptr, "1,129.03");
	buf_clear(&b);
	money_format_cents(&b, 9855000);
	assert_string_equal(b.ptr, "9.86");
	buf_clear(&b);
	money_format_cents(&b, -1000);
	assert_string_equal(b.ptr, "0.00");
	buf_release(&b);
}

/* Evaluate expr with env (JSON text or NULL); returns the result or NULL with *err set. */
static json_t *eval(struct sandbox *s, const char *expr, const char *env_json, char **err)
{
	*err = NULL;
	int fn = sandbox_compile(s, expr, "=formula", err);
	if (fn < 0)
		return NULL;
	json_t *env = env_json ? json_loads(env_json, 0, NULL) : NULL;
	json_t *out = NULL;
	sandbox_eval(s, fn, env, &out, err);
	json_decref(env);
	return out;
}

static void test_sandbox_formulas(void **state)
{
	(void)state;
	struct sandbox *s;
	assert_int_equal(sandbox_new(&s, 0, 0), 0);
	char *err;
	json_t *v = eval(s, "config.cpu * config.instances * hours", "{\"config\": {\"cpu\": 1, \"instances\": 2}}", &err);
	assert_non_null(v);
	assert_int_equal(json_integer_value(v), 1460);
	json_decref(v);
	v = eval(s, "config.memory / 1024", "{\"config\": {\"memory\": 2048}}", &err);
	assert_true(json_is_real(v));
	assert_true(json_real_value(v) == 2.0);
	json_decref(v);
	v = eval(s, "(config.ha and 'standard-' or 'basic-') .. size", "{\"config\": {\"ha\": false}, \"size\": 2}", &err);
	assert_string_equal(json_string_value(v), "basic-2");
	json_decref(v);
	v = eval(s, "math.max(2, math.ceil(1.2)) + #string.rep('x', 3) + #table.pack(1, 2)", NULL, &err);
	assert_int_equal(json_integer_value(v), 7);
	json_decref(v);
	/* a table is not a quantity */
	v = eval(s, "{}", NULL, &err);
	assert_null(v);
	assert_non_null(strstr(err, "returned a table"));
	free(err);
	/* a syntax error is reported at compile time */
	assert_int_equal(sandbox_compile(s, "1 +", "=formula", &err), -1);
	assert_non_null(strstr(err, "formula:"));
	free(err);
	sandbox_free(s);
}

static void test_sandbox_no_io_os_require_load(void **state)
{
	(void)state;
	struct sandbox *s;
	assert_int_equal(sandbox_new(&s, 0, 0), 0);
	static const char *const banned[] = { "io", "os", "require", "load", "loadstring", "dofile", "loadfile", "debug",
		                              "package", "collectgarbage", "setmetatable", "getmetatable", "coroutine", "_G",
		                              "pcall", "xpcall", "print", "rawset" };
	char *err;
	for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++) {
		char *expr = xasprintf("%s == nil", banned[i]);
		json_t *v = eval(s, expr, NULL, &err);
		if (!json_is_true(v))
			fail_msg("'%s' is reachable in the sandbox", banned[i]);
		json_decref(v);
		free(expr);
	}
	json_t *v = eval(s, "os.execute('true')", NULL, &err);
	assert_null(v);
	assert_non_null(strstr(err, "global 'os'"));
	free(err);
	v = eval(s, "io.open('/etc/passwd')", NULL, &err);
	assert_null(v);
	assert_non_null(strstr(err, "global 'io'"));
	free(err);
	/* string.dump is removed; a library table cannot be changed */
	v = eval(s, "string.dump == nil", NULL, &err);
	assert_true(json_is_true(v));
	json_decref(v);
	v = eval(s, "(function() math.floor = nil end)()", NULL, &err);
	assert_null(v);
	assert_non_null(strstr(err, "read-only"));
	free(err);
	/* a precompiled chunk (bytecode) is refused */
	assert_int_equal(sandbox_compile(s, "\x1bLua", "=formula", &err), -1);
	free(err);
	sandbox_free(s);
}

static void test_sandbox_runaway_stopped(void **state)
{
	(void)state;
	struct sandbox *s;
	assert_int_equal(sandbox_new(&s, 100000, 0), 0);
	char *err;
	json_t *v = eval(s, "(function() while true do end end)()", NULL, &err);
	assert_null(v);
	assert_non_null(strstr(err, "formula ran more than 100000 instructions"));
	free(err);
	/* the limit is per evaluation: the next formula runs */
	v = eval(s, "1 + 1", NULL, &err);
	assert_int_equal(json_integer_value(v), 2);
	json_decref(v);
	/* memory: a string of 64 MiB is refused under the 16 MiB default */
	sandbox_free(s);
	assert_int_equal(sandbox_new(&s, 0, 0), 0);
	v = eval(s, "#string.rep('x', 64 * 1024 * 1024)", NULL, &err);
	assert_null(v);
	assert_non_null(strstr(err, "formula needs more than"));
	free(err);
	v = eval(s, "2 * 21", NULL, &err);
	assert_int_equal(json_integer_value(v), 42);
	json_decref(v);
	sandbox_free(s);
}

static void test_sandbox_fresh_globals(void **state)
{
	(void)state;
	struct sandbox *s;
	assert_int_equal(sandbox_new(&s, 0, 0), 0);
	char *err;
	int set = sandbox_compile(s, "(function() leaked = 5; return 1 end)()", "=formula", &err);
	int get = sandbox_compile(s, "leaked", "=formula", &err);
	json_t *v;
	assert_int_equal(sandbox_eval(s, set, NULL, &v, &err), 0);
	json_decref(v);
	assert_int_equal(sandbox_eval(s, get, NULL, &v, &err), 0);
	assert_true(json_is_null(v));
	json_decref(v);
	sandbox_free(s);
}

/* Create DIR/NAME with mode. */
static void touch(const char *dir, const char *name, mode_t mode)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\n", f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
}

static void test_tofu_find(void **state)
{
	(void)state;
	char base[] = "/tmp/cratis-tofu-find-XXXXXX";
	assert_non_null(mkdtemp(base));
	char a[600], b[600], c[600], path[2000], want[700];
	snprintf(a, sizeof(a), "%s/a", base);
	snprintf(b, sizeof(b), "%s/b", base);
	snprintf(c, sizeof(c), "%s/c", base);
	assert_int_equal(mkdir(a, 0700), 0);
	assert_int_equal(mkdir(b, 0700), 0);
	assert_int_equal(mkdir(c, 0700), 0);
	/* neither: NULL (also for an empty or absent PATH) */
	snprintf(path, sizeof(path), "%s:%s", a, b);
	assert_null(cap_tofu_find(path));
	assert_null(cap_tofu_find(""));
	assert_null(cap_tofu_find(NULL));
	/* terraform alone is found */
	touch(a, "terraform", 0755);
	char *got = cap_tofu_find(path);
	snprintf(want, sizeof(want), "%s/terraform", a);
	assert_string_equal(got, want);
	free(got);
	/* tofu wins over terraform even later in the PATH; a tofu not executable is skipped */
	touch(b, "tofu", 0644);
	got = cap_tofu_find(path);
	assert_string_equal(got, want);
	free(got);
	touch(c, "tofu", 0755);
	snprintf(path, sizeof(path), "relative:%s::%s:%s", a, b, c);
	got = cap_tofu_find(path);
	snprintf(want, sizeof(want), "%s/tofu", c);
	assert_string_equal(got, want);
	free(got);
	/* a directory named tofu is not an executable */
	char d[700];
	snprintf(d, sizeof(d), "%s/tofu", a);
	assert_int_equal(mkdir(d, 0700), 0);
	snprintf(path, sizeof(path), "%s", a);
	got = cap_tofu_find(path);
	snprintf(want, sizeof(want), "%s/terraform", a);
	assert_string_equal(got, want);
	free(got);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_money_parse),
		cmocka_unit_test(test_money_products_and_sums),
		cmocka_unit_test(test_money_format),
		cmocka_unit_test(test_sandbox_formulas),
		cmocka_unit_test(test_sandbox_no_io_os_require_load),
		cmocka_unit_test(test_sandbox_runaway_stopped),
		cmocka_unit_test(test_sandbox_fresh_globals),
		cmocka_unit_test(test_tofu_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
