/* Unit tests: plugin loader (shared objects and executables) and its failure modes. */
#include "helpers.h"

#include "plugin/registry.h"

struct fake_calls fake_calls;

static char *path_of(const char *env, const char *rel)
{
	const char *base = getenv(env);
	if (!base)
		fail_msg("%s is not set (run through meson test)", env);
	return xasprintf("%s/%s", base, rel);
}

static void test_loader_loads_builtin_plugins(void **state)
{
	(void)state;
	struct registry r;
	registry_init(&r);
	struct diags errors = DIAGS_INIT;
	char *dir = path_of("CRATIS_BUILD_DIR", "plugins");
	strv_push(&r.dirs, dir);
	assert_int_equal(registry_load(&r, &errors), 0);
	assert_int_equal(errors.n, 0);
	struct handler *h = registry_find(&r, "exec", "Task", NULL);
	assert_non_null(h);
	assert_true(handler_supports(h, "v1"));
	assert_false(handler_supports(h, "v2"));
	assert_string_equal(h->plugin->name, "exec");
	assert_int_equal(h->plugin->form, PLUGIN_SO);
	assert_non_null(registry_find(&r, "file", "File", NULL));
	assert_non_null(registry_find(&r, "service", "Service", NULL));
	char *kinds = registry_kinds_list(&r);
	assert_contains(kinds, "exec/v1 Task");
	free(kinds);
	free(dir);
	diags_release(&errors);
	registry_release(&r);
}

static void test_loader_refuses_bad_abi(void **state)
{
	(void)state;
	struct registry r;
	registry_init(&r);
	struct diags errors = DIAGS_INIT;
	char *so = path_of("TEST_PLUGINS", "badabi/cratis-badabi.so");
	assert_int_equal(registry_load_one(&r, so, &errors), CRATIS_EPLUGIN);
	char *j = joined(&errors);
	assert_contains(j, "cratis-badabi.so': built for ABI major 99, this cratis speaks 1");
	assert_null(registry_find(&r, "future", "Thing", NULL));
	free(j);
	free(so);
	diags_release(&errors);
	registry_release(&r);
}

static void test_loader_refuses_duplicate_kind(void **state)
{
	(void)state;
	struct registry r;
	registry_init(&r);
	struct diags errors = DIAGS_INIT;
	char *builtin = path_of("CRATIS_BUILD_DIR", "plugins"), *dup = path_of("TEST_PLUGINS", "dupkind");
	strv_push(&r.dirs, builtin);
	strv_push(&r.dirs, dup);
	assert_int_equal(registry_load(&r, &errors), CRATIS_EPLUGIN);
	char *j = joined(&errors);
	assert_contains(j, "plugin 'dupkind'");
	assert_contains(j, "exec/v1 Task is already handled by plugin 'exec'");
	/* the first handler stays in charge */
	assert_string_equal(registry_find(&r, "exec", "Task", NULL)->plugin->name, "exec");
	free(j);
	free(builtin);
	free(dup);
	diags_release(&errors);
	registry_release(&r);
}

/* Load exec plugin tests/plugins/exec/NAME and call apply once. */
static int call_exec(const char *name, char **err)
{
	struct registry r;
	registry_init(&r);
	struct diags errors = DIAGS_INIT;
	char *rel = xasprintf("exec/%s", name);
	char *dir = path_of("TEST_SOURCE_PLUGINS", rel);
	assert_int_equal(registry_load_one(&r, dir, &errors), 0);
	struct handler *h = registry_find(&r, name, "Thing", NULL);
	assert_non_null(h);
	assert_int_equal(h->plugin->form, PLUGIN_EXEC);
	struct cratis_request req = { .api_version = "x/v1", .kind = "Thing", .name = "t", .spec = "{}" };
	struct call c;
	call_init(&c, "Thing/t");
	json_t *out = NULL;
	int rc = handler_call(h, OP_APPLY, &req, &c, &out);
	*err = xstrdup(cratis_error_last()->message);
	if (rc) {
		/* a dead plugin keeps failing at once, it is not restarted mid-run */
		int rc2 = handler_call(h, OP_APPLY, &req, &c, &out);
		assert_int_equal(rc2, CRATIS_EPLUGIN);
	}
	json_decref(out);
	call_release(&c);
	free(rel);
	free(dir);
	diags_release(&errors);
	registry_release(&r);
	return rc;
}

static void test_loader_exec_plugin_answers(void **state)
{
	(void)state;
	char *err;
	assert_int_equal(call_exec("ok", &err), 0);
	free(err);
}

static void test_loader_exec_plugin_crash(void **state)
{
	(void)state;
	char *err;
	assert_int_equal(call_exec("crash", &err), CRATIS_EPLUGIN);
	assert_contains(err, "plugin 'exec-crash': crashed (signal 11)");
	free(err);
}

static void test_loader_exec_plugin_garbage(void **state)
{
	(void)state;
	char *err;
	assert_int_equal(call_exec("garbage", &err), CRATIS_EPLUGIN);
	assert_contains(err, "plugin 'exec-garbage': printed a line that is not a JSON object: 'Traceback (most recent call last): oops'");
	assert_null(strstr(err, "did not answer within")); /* the garbage ends the call, not the timeout */
	free(err);
}

static void test_loader_exec_plugin_hang(void **state)
{
	(void)state;
	char *err;
	assert_int_equal(call_exec("hang", &err), CRATIS_ETIMEOUT);
	assert_contains(err, "plugin 'exec-hang': did not answer within 2000 ms; stopped it");
	free(err);
}

static void test_loader_exec_plugin_bad_manifest(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	free(write_file(dir, "plugin.yaml", "name: broken\nversion: 1.0.0\nhandlers: {}\n"));
	struct registry r;
	registry_init(&r);
	struct diags errors = DIAGS_INIT;
	assert_int_equal(registry_load_one(&r, dir, &errors), CRATIS_EPLUGIN);
	char *j = joined(&errors);
	assert_contains(j, "plugin.yaml:1:1: executable: expected a string");
	assert_contains(j, "plugin.yaml:3:1: handlers: expected a non-empty sequence");
	free(j);
	diags_release(&errors);
	registry_release(&r);
	tmp_cleanup(dir);
}

/* A tmp exec plugin requiring `requires`; load it beside the built-in plugins. */
static char *load_with_requirement(const char *requires)
{
	char *dir = tmp_dir();
	char *pdir = xasprintf("%s/needy", dir);
	mkdir_p(pdir);
	char *yaml = xasprintf("name: needy\nversion: 1.0.0\nexecutable: run.sh\nrequires: {%s}\n"
	                       "handlers:\n  - {group: needy, kind: Thing, versions: [v1]}\n", requires);
	free(write_file(pdir, "plugin.yaml", yaml));
	struct registry r;
	registry_init(&r);
	struct diags errors = DIAGS_INIT;
	char *builtin = path_of("CRATIS_BUILD_DIR", "plugins");
	strv_push(&r.dirs, builtin);
	strv_push(&r.dirs, dir);
	int rc = registry_load(&r, &errors);
	char *j = joined(&errors);
	assert_int_equal(rc != 0, errors.n != 0);
	free(builtin);
	free(yaml);
	free(pdir);
	diags_release(&errors);
	registry_release(&r);
	tmp_cleanup(dir);
	return j;
}

static void test_loader_plugin_requirements(void **state)
{
	(void)state;
	char *j = load_with_requirement("exec: \"^0.1\", file: \">=0.1.0, <1\"");
	assert_string_equal(j, "");
	free(j);
	j = load_with_requirement("exec: \">=2\"");
	assert_contains(j, "plugin 'needy' (");
	assert_contains(j, "requires plugin 'exec' >=2, found 0.1.0 at ");
	free(j);
	j = load_with_requirement("ghost: \"1.x\"");
	assert_contains(j, "requires plugin 'ghost' 1.x, which is not loaded");
	free(j);
	j = load_with_requirement("exec: \"=>1\"");
	assert_contains(j, "requires plugin 'exec': invalid range '=>1': '=>1': unknown operator '=>'");
	free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loader_loads_builtin_plugins),
		cmocka_unit_test(test_loader_refuses_bad_abi),
		cmocka_unit_test(test_loader_refuses_duplicate_kind),
		cmocka_unit_test(test_loader_exec_plugin_answers),
		cmocka_unit_test(test_loader_exec_plugin_crash),
		cmocka_unit_test(test_loader_exec_plugin_garbage),
		cmocka_unit_test(test_loader_exec_plugin_hang),
		cmocka_unit_test(test_loader_exec_plugin_bad_manifest),
		cmocka_unit_test(test_loader_plugin_requirements),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
