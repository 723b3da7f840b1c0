/* Unit tests: variable interpolation. */
#include "helpers.h"

#include "manifest/vars.h"

struct fake_calls fake_calls;

static json_t *vars(void)
{
	return json_pack("{s:i,s:s,s:b}", "port", 8080, "host", "example", "on", 1);
}

/* Expand in; the text (or the JSON of a non-string value), or NULL with *status the error
 * (its message in cratis_error_last()). */
static char *expand(const char *in, int partial, int *status)
{
	json_t *v = vars(), *out = NULL;
	struct vars_ctx c = { .variables = v, .partial = partial };
	char *res = NULL;
	error_clear();
	*status = vars_expand_string(in, &c, &out);
	if (*status == CRATIS_OK) {
		res = json_is_string(out) ? xstrdup(json_string_value(out)) : json_dumps(out, JSON_ENCODE_ANY);
		json_decref(out);
	} else {
		assert_null(out);
	}
	json_decref(v);
	return res;
}

static void check(const char *in, const char *want)
{
	int status;
	char *got = expand(in, 0, &status);
	if (!got)
		fail_msg("'%s': unexpected error %s", in, cratis_error_last()->message);
	assert_string_equal(got, want);
	free(got);
}

/* in fails with status, the message containing want (also in the last error's status). */
static void check_err_status(const char *in, int status, const char *want)
{
	int got_status;
	char *got = expand(in, 0, &got_status);
	assert_null(got);
	assert_int_equal(got_status, status);
	assert_int_equal(cratis_error_last()->status, status);
	assert_contains(cratis_error_last()->message, want);
}

static void check_err(const char *in, const char *want)
{
	check_err_status(in, CRATIS_EINVAL, want);
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
	check_err_status("${env:CRATIS_T_NONE}", CRATIS_ENOTFOUND, "environment variable 'CRATIS_T_NONE' is not set");
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
	check_err("${secret:db}", "secret references need the project's secrets");
	check_err("${secret:}", "expected ${secret:NAME}");
}

static void test_vars_partial_keeps_outputs_and_escapes(void **state)
{
	(void)state;
	int status;
	char *got = expand("${host} ${Task/a.outputs.dir} $${x}", 1, &status);
	assert_int_equal(status, CRATIS_OK);
	assert_string_equal(got, "example ${Task/a.outputs.dir} $${x}");
	free(got);
}

/* The two passes of model and engine: partial (load time, environment and variables), then the
 * last (apply time, outputs), each on what the one before made. Returns the final text. */
static char *two_passes(const char *in, struct strv *ids)
{
	json_t *v = vars(), *mid = NULL, *out = NULL;
	struct vars_ctx load = { .variables = v, .partial = true };
	assert_int_equal(vars_expand_string(in, &load, &mid), CRATIS_OK);
	vars_collect_refs(mid, ids);
	struct vars_ctx last = { .unknown = "(unknown)" };
	assert_int_equal(vars_expand_string(json_string_value(mid), &last, &out), CRATIS_OK);
	char *res = xstrdup(json_string_value(out));
	json_decref(out);
	json_decref(mid);
	json_decref(v);
	return res;
}

/* issue 9 item 4: a value that came from the environment is data, never template text */
static void test_vars_values_are_interpolated_once(void **state)
{
	(void)state;
	struct strv ids = STRV_INIT;
	setenv("CRATIS_T_SECRET_TOKEN", "s3cr3t", 1);
	setenv("CRATIS_T_INJ", "${env:CRATIS_T_SECRET_TOKEN}", 1);
	char *got = two_passes("x ${env:CRATIS_T_INJ}", &ids);
	assert_string_equal(got, "x ${env:CRATIS_T_SECRET_TOKEN}");
	free(got);
	setenv("CRATIS_T_INJ", "${Task/t.outputs.x}", 1);
	got = two_passes("${env:CRATIS_T_INJ}", &ids);
	assert_string_equal(got, "${Task/t.outputs.x}");
	assert_int_equal(ids.n, 0);   /* no graph edge either */
	free(got);
	/* '$' at the edge of a value never joins the template around it */
	setenv("CRATIS_T_INJ", "$", 1);
	got = two_passes("${env:CRATIS_T_INJ}{host} ${env:CRATIS_T_INJ}${host} $${x}", &ids);
	assert_string_equal(got, "${host} $example ${x}");
	free(got);
	setenv("CRATIS_T_INJ", "a$${b}$$", 1);
	got = two_passes("${env:CRATIS_T_INJ}${Task/t.outputs.x}", &ids);
	assert_string_equal(got, "a$${b}$$(unknown)");
	assert_int_equal(ids.n, 1);   /* the template's own reference still counts */
	free(got);
	/* a literal '$' written in the template */
	got = two_passes("${$}{host}", &ids);
	assert_string_equal(got, "${host}");
	free(got);
	strv_release(&ids);
	unsetenv("CRATIS_T_INJ");
	unsetenv("CRATIS_T_SECRET_TOKEN");
}

static int fake_secret(char **out, const char *name, void *payload)
{
	(void)payload;
	if (strcmp(name, "db"))
		return error_set(CRATIS_ENOTFOUND, "unknown secret '%s'", name);
	*out = xstrdup("hunter2$${env:HOME}");
	return CRATIS_OK;
}

static int fake_redact(char **out, const char *value, size_t len, void *payload)
{
	(void)payload;
	*out = xasprintf("(sensitive) %zu", len);
	(void)value;
	return CRATIS_OK;
}

/* ${secret:NAME} stays for the last pass, which gives the value (the spec sent to a plugin) or
 * the redacted form of the whole string (the spec recorded); sensitive variables the same */
static void test_vars_secrets_and_sensitive_variables(void **state)
{
	(void)state;
	json_t *v = json_pack("{s:s,s:s}", "token", "t${$}k", "host", "example");
	struct strv sens = STRV_INIT;
	strv_push(&sens, "token");
	struct vars_ctx load = { .variables = v, .partial = true, .sensitive = &sens };
	json_t *mid, *out;
	assert_int_equal(vars_expand_string("pw=${secret:db} ${token} ${host}", &load, &mid), CRATIS_OK);
	assert_string_equal(json_string_value(mid), "pw=${secret:db} ${token} example");
	struct vars_ctx reveal = { .variables = v, .sensitive = &sens, .secret = fake_secret };
	assert_int_equal(vars_expand_string(json_string_value(mid), &reveal, &out), CRATIS_OK);
	assert_string_equal(json_string_value(out), "pw=hunter2$${env:HOME} t$k example");
	json_decref(out);
	struct vars_ctx redact = reveal;
	redact.redact = fake_redact;
	assert_int_equal(vars_expand_string(json_string_value(mid), &redact, &out), CRATIS_OK);
	assert_string_equal(json_string_value(out), "(sensitive) 34");
	json_decref(out);
	assert_int_equal(vars_expand_string("plain ${host}", &redact, &out), CRATIS_OK);
	assert_string_equal(json_string_value(out), "plain example");
	json_decref(out);
	error_clear();
	assert_int_equal(vars_expand_string("${secret:nope}", &redact, &out), CRATIS_ENOTFOUND);
	assert_null(out);
	json_decref(mid);
	json_decref(v);
	strv_release(&sens);
}

static int ref(const char *id, const char *key, json_t **out, bool *sensitive, void *payload)
{
	(void)payload;
	if (!strcmp(id, "Task/a") && !strcmp(key, "dir")) {
		*out = json_string("/srv/a");
	} else if (!strcmp(id, "Task/a") && !strcmp(key, "token")) {
		*out = json_string("tok-out-1");
		*sensitive = true;
	} else if (!strcmp(id, "Task/a"))
		return error_set(CRATIS_ENOTFOUND, "%s has no output '%s' (outputs: dir)", id, key);
	return CRATIS_OK;
}

/* A sensitive output makes the string it lands in sensitive: redacted as a whole in the spec
 * recorded, its value only in the spec sent to the plugin; other strings stay (issue 9 item 11). */
static void test_vars_sensitive_output(void **state)
{
	(void)state;
	struct vars_ctx c = { .ref = ref, .redact = fake_redact };
	json_t *out = NULL;
	assert_int_equal(vars_expand_string("Bearer ${Task/a.outputs.token}", &c, &out), CRATIS_OK);
	assert_string_equal(json_string_value(out), "(sensitive) 16");
	json_decref(out);
	assert_int_equal(vars_expand_string("${Task/a.outputs.dir}", &c, &out), CRATIS_OK);
	assert_string_equal(json_string_value(out), "/srv/a");
	json_decref(out);
	c.redact = NULL;
	assert_int_equal(vars_expand_string("Bearer ${Task/a.outputs.token}", &c, &out), CRATIS_OK);
	assert_string_equal(json_string_value(out), "Bearer tok-out-1");
	json_decref(out);
}

static void test_vars_output_references(void **state)
{
	(void)state;
	struct vars_ctx c = { .ref = ref, .unknown = "(known after apply)" };
	json_t *out;
	assert_int_equal(vars_expand_string("${Task/a.outputs.dir}/x ${Task/b.outputs.y}", &c, &out), 0);
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

/* A resolver's status and message reach the caller unchanged. */
static void test_vars_output_reference_error_keeps_status(void **state)
{
	(void)state;
	struct vars_ctx c = { .ref = ref, .unknown = "(known after apply)" };
	json_t *out = json_true();
	error_clear();
	assert_int_equal(vars_expand_string("x ${Task/a.outputs.nope}", &c, &out), CRATIS_ENOTFOUND);
	assert_null(out);
	assert_int_equal(cratis_error_last()->status, CRATIS_ENOTFOUND);
	assert_string_equal(cratis_error_last()->message, "Task/a has no output 'nope' (outputs: dir)");
}

static int artifact(char **out, const char *name, const char *field, void *payload)
{
	(void)payload;
	if (!strcmp(name, "web")) {
		*out = xstrdup(!strcmp(field, "version") ? "1.2.3" : "sha256:ab");
		return CRATIS_OK;
	}
	return error_set(CRATIS_ENOTFOUND, "no artifact '%s' is recorded", name);
}

static void test_vars_artifact_references(void **state)
{
	(void)state;
	struct vars_ctx c = { .artifact = artifact };
	json_t *out = NULL;
	assert_int_equal(vars_expand_string("${artifact:web}@${artifact:web.version}", &c, &out), CRATIS_OK);
	assert_string_equal(json_string_value(out), "sha256:ab@1.2.3");
	json_decref(out);
	error_clear();
	assert_int_equal(vars_expand_string("${artifact:db}", &c, &out), CRATIS_ENOTFOUND);
	assert_null(out);
	assert_string_equal(cratis_error_last()->message, "no artifact 'db' is recorded");
	/* without a resolver the reference is refused */
	struct vars_ctx none = { .variables = NULL };
	assert_int_equal(vars_expand_string("${artifact:web}", &none, &out), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "artifact references need the project's state");
}

static int errors_seen;
static char last_msg[128];
static char last_field[64];
static void on_err(const char *field, const char *msg, void *p)
{
	(void)p;
	errors_seen++;
	snprintf(last_field, sizeof(last_field), "%s", field);
	snprintf(last_msg, sizeof(last_msg), "%s", msg);
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
	assert_string_equal(last_msg, "unknown variable 'nope' (defined: port, host, on)");
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
		cmocka_unit_test(test_vars_values_are_interpolated_once),
		cmocka_unit_test(test_vars_secrets_and_sensitive_variables),
		cmocka_unit_test(test_vars_sensitive_output),
		cmocka_unit_test(test_vars_output_reference_error_keeps_status),
		cmocka_unit_test(test_vars_artifact_references),
		cmocka_unit_test(test_vars_tree_reports_field_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
