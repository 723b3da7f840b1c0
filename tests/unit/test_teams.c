/* Unit tests: the Kubernetes quantity parser of namespace quotas and resource requests, and the
 * master records of src/app/teams.c (validation, compare-and-set, dependents) on a SQLite store. */
#include "helpers.h"

#include "app/teams.h"

struct fake_calls fake_calls;

struct qcase {
	const char *text;
	int64_t want;
};

/* Values from the Kubernetes documentation ("Resource units in Kubernetes") and
 * k8s.io/apimachinery's quantity tests: the same amount written several ways. */
static void test_teams_quantity_cpu_in_millicores(void **state)
{
	(void)state;
	static const struct qcase ok[] = {
		{ "1", 1000 }, { "2", 2000 }, { "0.5", 500 }, { "500m", 500 }, { "0.1", 100 }, { "100m", 100 },
		{ "1.5", 1500 }, { "250m", 250 }, { "0", 0 }, { "0m", 0 }, { "1k", 1000000 }, { "1e3", 1000000 },
		{ "1E3", 1000000 }, { "1e-3", 1 }, { "5.", 5000 }, { ".5", 500 }, { "0.0001", 1 }, { "1u", 1 },
		{ "100n", 1 }, { "1Ki", 1024000 }, { "007", 7000 }, { "1.0005", 1001 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t v = -1;
		if (quantity_cpu_millis(ok[i].text, &v))
			fail_msg("'%s' refused: %s", ok[i].text, cratis_error_last()->message);
		if (v != ok[i].want)
			fail_msg("'%s': %lld millicores, expected %lld", ok[i].text, (long long)v, (long long)ok[i].want);
	}
}

static void test_teams_quantity_memory_in_bytes(void **state)
{
	(void)state;
	static const struct qcase ok[] = {
		{ "128974848", 128974848 }, { "129e6", 129000000 }, { "129M", 129000000 }, { "123Mi", 128974848 },
		{ "128974848000m", 128974848 }, { "1Gi", 1073741824 }, { "1Ki", 1024 }, { "1.5Ki", 1536 }, { "1k", 1000 },
		{ "1G", 1000000000 }, { "2Ti", 2199023255552 }, { "1Ei", 1152921504606846976 }, { "7E", 7000000000000000000 },
		{ "0.5", 1 }, { "1500m", 2 }, { "512Mi", 536870912 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int64_t v = -1;
		if (quantity_memory_bytes(ok[i].text, &v))
			fail_msg("'%s' refused: %s", ok[i].text, cratis_error_last()->message);
		if (v != ok[i].want)
			fail_msg("'%s': %lld bytes, expected %lld", ok[i].text, (long long)v, (long long)ok[i].want);
	}
}

/* Strict: what Kubernetes refuses (and signs, which a request or quota never needs) is an error
 * saying what was expected. */
static void test_teams_quantity_refuses_malformed_text(void **state)
{
	(void)state;
	static const char *const bad[] = { "", " 1", "1 ", "-1", "+1", "1GB", "1gi", "1KI", "2x", "1.2.3", ".", "m",
		                           "Gi", "1e", "1e+", "1ee3", "1Mi3", "one", "1,5", "0x10", "1K", "1mi", "1e3m",
		                           "9223372036854775808", "10E", "16Ei", "1e400", "1234567890123456789012345678901" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v;
		if (!quantity_memory_bytes(bad[i], &v))
			fail_msg("'%s' accepted as %lld bytes", bad[i], (long long)v);
		assert_int_equal(cratis_error_last()->status, CRATIS_EINVAL);
		assert_true(strstr(cratis_error_last()->message, "quantity") != NULL);
	}
	int64_t v;
	assert_int_equal(quantity_cpu_millis("9223372036854775807", &v), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "too large");
	assert_int_equal(quantity_cpu_millis("2 cores", &v), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "expected a Kubernetes quantity");
}

static void test_teams_quantity_text_and_format(void **state)
{
	(void)state;
	json_t *v = json_integer(2);
	char *t = quantity_text(v);
	assert_string_equal(t, "2");
	free(t);
	json_decref(v);
	v = json_real(0.5);
	t = quantity_text(v);
	assert_string_equal(t, "0.5");
	free(t);
	json_decref(v);
	v = json_integer(-1);
	assert_null(quantity_text(v));
	json_decref(v);
	v = json_true();
	assert_null(quantity_text(v));
	char out[32];
	quantity_format_cpu(2000, out);
	assert_string_equal(out, "2");
	quantity_format_cpu(2500, out);
	assert_string_equal(out, "2500m");
	quantity_format_memory(1073741824, out);
	assert_string_equal(out, "1Gi");
	quantity_format_memory(1610612736, out);
	assert_string_equal(out, "1536Mi");
	quantity_format_memory(1000, out);
	assert_string_equal(out, "1000");
	quantity_format_memory(0, out);
	assert_string_equal(out, "0");
}

/* An app on a fresh SQLite store (state only); *url is borrowed by the app (free it after
 * app_close). */
static struct app *open_store(char *dir, char **urlp)
{
	char *url = *urlp = xasprintf("sqlite:%s/state.db", dir);
	const char *paths[1] = { dir };
	struct app_options o = { .paths = paths, .npaths = 1, .state_dir = dir, .state_url = url, .jobs = 1 };
	struct app *a = NULL;
	struct diags d = DIAGS_INIT;
	int rc = app_open(&a, &o, APP_LOAD_STATE, &d);
	if (rc)
		fail_msg("app_open: %s", d.n ? d.v[0].message : "?");
	diags_release(&d);
	return a;
}

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	return j;
}

/* The first diagnostic's field and message contain the given text. */
static void assert_diag(const struct diags *d, const char *field, const char *text)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].field && !strcmp(d->v[i].field, field) && strstr(d->v[i].message, text))
			return;
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < d->n; i++)
		diag_format(&d->v[i], &b);
	fail_msg("no diagnostic at '%s' with '%s' in:\n%s", field, text, b.ptr);
}

static void test_teams_records_validate_and_compare_and_set(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *url;
	struct app *a = open_store(dir, &url);
	struct diags d = DIAGS_INIT;
	struct app_actor who = { "root", "role:admin" };
	bool conflict;
	json_t *out = NULL, *b;

	/* strict bodies, every problem located */
	b = parse("{\"name\":\"Team A\",\"members\":[{\"subject\":\"al ice\",\"role\":\"boss\"},{\"subject\":\"bob\",\"role\":\"member\"},{\"subject\":\"bob\",\"role\":\"owner\"}],\"colour\":1}");
	assert_int_equal(app_master_put(a, APP_TEAM, NULL, NULL, b, 0, &who, &out, &conflict, &d), CRATIS_EINVAL);
	assert_diag(&d, "name", "DNS label");
	assert_diag(&d, "members[0].subject", "no space or comma");
	assert_diag(&d, "members[0].role", "expected owner or member, got 'boss'");
	assert_diag(&d, "members[2].subject", "listed twice");
	assert_diag(&d, "colour", "unknown field 'colour'");
	json_decref(b);
	diags_release(&d);

	/* a namespace needs its team (404) and its environment master record (422) */
	b = parse("{\"environment\":\"staging\",\"name\":\"web\",\"quota\":{\"cpu\":\"2\",\"memory\":\"1Gi\",\"services\":3}}");
	assert_int_equal(app_master_put(a, APP_NAMESPACE, "team-a", NULL, b, 0, &who, &out, &conflict, &d), CRATIS_ENOTFOUND);
	diags_release(&d);
	json_t *tb = parse("{\"name\":\"team-a\",\"members\":[{\"subject\":\"alice\",\"role\":\"owner\"}]}");
	assert_int_equal(app_master_put(a, APP_TEAM, NULL, NULL, tb, 0, &who, &out, &conflict, &d), CRATIS_OK);
	assert_int_equal(json_integer_value(json_object_get(out, "revision")), 1);
	assert_string_equal(app_team_role(out, "alice"), "owner");
	assert_null(app_team_role(out, "mallory"));
	json_decref(out);
	assert_int_equal(app_master_put(a, APP_NAMESPACE, "team-a", NULL, b, 0, &who, &out, &conflict, &d), CRATIS_EINVAL);
	assert_diag(&d, "environment", "no environment 'staging'");
	diags_release(&d);
	json_t *eb = parse("{\"name\":\"staging\"}");
	assert_int_equal(app_master_put(a, APP_ENVIRONMENT, NULL, NULL, eb, 0, &who, NULL, &conflict, &d), CRATIS_OK);
	assert_int_equal(app_master_put(a, APP_ENVIRONMENT, NULL, NULL, eb, 0, &who, NULL, &conflict, &d), CRATIS_EEXISTS);
	assert_false(conflict);
	diags_release(&d);
	assert_int_equal(app_master_put(a, APP_NAMESPACE, "team-a", NULL, b, 0, &who, &out, &conflict, &d), CRATIS_OK);
	json_decref(out);
	json_decref(b);

	/* compare-and-set: revision 1 -> 2, then a stale revision 1 is a conflict */
	assert_int_equal(app_master_put(a, APP_TEAM, NULL, "team-a", tb, 1, &who, &out, &conflict, &d), CRATIS_OK);
	assert_int_equal(json_integer_value(json_object_get(out, "revision")), 2);
	json_decref(out);
	assert_int_equal(app_master_put(a, APP_TEAM, NULL, "team-a", tb, 1, &who, &out, &conflict, &d), CRATIS_EEXISTS);
	assert_true(conflict);
	assert_contains(d.v[0].message, "revision 2");
	diags_release(&d);
	/* a body naming another team than the path */
	json_t *other = parse("{\"name\":\"team-b\"}");
	assert_int_equal(app_master_put(a, APP_TEAM, NULL, "team-a", other, STORE_REV_ANY, &who, &out, &conflict, &d),
	                 CRATIS_EINVAL);
	assert_diag(&d, "name", "does not match");
	diags_release(&d);
	/* a replace of what does not exist */
	assert_int_equal(app_master_put(a, APP_TEAM, NULL, "team-b", other, STORE_REV_ANY, &who, &out, &conflict, &d),
	                 CRATIS_ENOTFOUND);
	diags_release(&d);
	json_decref(other);

	/* dependents: the team and the environment keep their namespace */
	assert_int_equal(app_master_delete(a, APP_TEAM, NULL, "team-a", STORE_REV_ANY, &who, &conflict, &d), CRATIS_EEXISTS);
	assert_contains(d.v[0].message, "team-a/staging/web");
	diags_release(&d);
	assert_int_equal(app_master_delete(a, APP_ENVIRONMENT, NULL, "staging", STORE_REV_ANY, &who, &conflict, &d),
	                 CRATIS_EEXISTS);
	diags_release(&d);
	assert_int_equal(app_master_list(a, APP_NAMESPACE, "team-a", &out, &d), CRATIS_OK);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(out, 0), "quota"), "memory")), "1Gi");
	json_decref(out);
	assert_int_equal(app_master_delete(a, APP_NAMESPACE, "team-a", "staging/web", 2, &who, &conflict, &d), CRATIS_EEXISTS);
	assert_true(conflict);
	diags_release(&d);
	assert_int_equal(app_master_delete(a, APP_NAMESPACE, "team-a", "staging/web", 1, &who, &conflict, &d), CRATIS_OK);
	assert_int_equal(app_master_delete(a, APP_TEAM, NULL, "team-a", STORE_REV_ANY, &who, &conflict, &d), CRATIS_OK);
	assert_int_equal(app_master_delete(a, APP_TEAM, NULL, "team-a", STORE_REV_ANY, &who, &conflict, &d), CRATIS_ENOTFOUND);
	diags_release(&d);
	json_decref(tb);
	json_decref(eb);
	app_close(a);
	free(url);
	tmp_cleanup(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_teams_quantity_cpu_in_millicores),
		cmocka_unit_test(test_teams_quantity_memory_in_bytes),
		cmocka_unit_test(test_teams_quantity_refuses_malformed_text),
		cmocka_unit_test(test_teams_quantity_text_and_format),
		cmocka_unit_test(test_teams_records_validate_and_compare_and_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
