/* Unit tests: plugin loader (shared objects and executables) and its failure modes. */
#include "helpers.h"

#include <pthread.h>

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
	struct strv errors = STRV_INIT;
	char *dir = path_of("CRATIS_BUILD_DIR", "plugins");
	strv_push(&r.dirs, dir);
	assert_int_equal(registry_load(&r, &errors), 0);
	assert_int_equal(errors.n, 0);
	struct handler *h = registry_find(&r, "exec", "Task");
	assert_non_null(h);
	assert_true(handler_supports(h, "v1"));
	assert_false(handler_supports(h, "v2"));
	assert_string_equal(h->plugin->name, "exec");
	assert_int_equal(h->plugin->form, PLUGIN_SO);
	assert_non_null(registry_find(&r, "file", "File"));
	assert_non_null(registry_find(&r, "service", "Service"));
	char *kinds = registry_kinds_list(&r);
	assert_contains(kinds, "exec/v1 Task");
	free(kinds);
	free(dir);
	strv_release(&errors);
	registry_release(&r);
}

static void test_loader_refuses_bad_abi(void **state)
{
	(void)state;
	struct registry r;
	registry_init(&r);
	struct strv errors = STRV_INIT;
	char *so = path_of("TEST_PLUGINS", "badabi/cratis-badabi.so");
	assert_int_equal(registry_load_one(&r, so, &errors), CRATIS_EPLUGIN);
	char *j = joined(&errors);
	assert_contains(j, "cratis-badabi.so': built for ABI major 99, this cratis speaks 1");
	assert_null(registry_find(&r, "future", "Thing"));
	free(j);
	free(so);
	strv_release(&errors);
	registry_release(&r);
}

static void test_loader_refuses_duplicate_kind(void **state)
{
	(void)state;
	struct registry r;
	registry_init(&r);
	struct strv errors = STRV_INIT;
	char *builtin = path_of("CRATIS_BUILD_DIR", "plugins"), *dup = path_of("TEST_PLUGINS", "dupkind");
	strv_push(&r.dirs, builtin);
	strv_push(&r.dirs, dup);
	assert_int_equal(registry_load(&r, &errors), CRATIS_EPLUGIN);
	char *j = joined(&errors);
	assert_contains(j, "plugin 'dupkind'");
	assert_contains(j, "exec/v1 Task is already handled by plugin 'exec'");
	/* the first handler stays in charge */
	assert_string_equal(registry_find(&r, "exec", "Task")->plugin->name, "exec");
	free(j);
	free(builtin);
	free(dup);
	strv_release(&errors);
	registry_release(&r);
}

/* Load exec plugin tests/plugins/exec/NAME and call apply once. */
static int call_exec(const char *name, char **err, int64_t *elapsed_ms)
{
	struct registry r;
	registry_init(&r);
	struct strv errors = STRV_INIT;
	char *rel = xasprintf("exec/%s", name);
	char *dir = path_of("TEST_SOURCE_PLUGINS", rel);
	assert_int_equal(registry_load_one(&r, dir, &errors), 0);
	struct handler *h = registry_find(&r, name, "Thing");
	assert_non_null(h);
	assert_int_equal(h->plugin->form, PLUGIN_EXEC);
	struct cratis_request req = { .api_version = "x/v1", .kind = "Thing", .name = "t", .spec = "{}" };
	struct call c;
	call_init(&c, "Thing/t");
	json_t *out = NULL;
	int64_t t0 = now_ms();
	int rc = handler_call(h, OP_APPLY, &req, &c, &out);
	*elapsed_ms = now_ms() - t0;
	*err = xstrdup(cratis_error_last()->message);
	if (rc) {
		/* a crashed plugin is restarted once (and fails the same way again); a timed-out one is
		 * not; either way it then keeps failing at once */
		int rc2 = handler_call(h, OP_APPLY, &req, &c, &out);
		assert_int_equal(rc2, CRATIS_EPLUGIN);
	}
	json_decref(out);
	call_release(&c);
	free(rel);
	free(dir);
	strv_release(&errors);
	registry_release(&r);
	return rc;
}

static void test_loader_exec_plugin_answers(void **state)
{
	(void)state;
	char *err;
	int64_t ms;
	assert_int_equal(call_exec("ok", &err, &ms), 0);
	free(err);
}

static void test_loader_exec_plugin_crash(void **state)
{
	(void)state;
	char *err;
	int64_t ms;
	assert_int_equal(call_exec("crash", &err, &ms), CRATIS_EPLUGIN);
	assert_contains(err, "plugin 'exec-crash': crashed (signal 11)");
	free(err);
}

static void test_loader_exec_plugin_garbage(void **state)
{
	(void)state;
	char *err;
	int64_t ms;
	assert_int_equal(call_exec("garbage", &err, &ms), CRATIS_EPLUGIN);
	assert_contains(err, "plugin 'exec-garbage': printed a line that is not a JSON object: 'Traceback (most recent call last): oops'");
	assert_true(ms < 2000); /* no waiting for the timeout */
	free(err);
}

static void test_loader_exec_plugin_hang(void **state)
{
	(void)state;
	char *err;
	int64_t ms;
	assert_int_equal(call_exec("hang", &err, &ms), CRATIS_ETIMEOUT);
	assert_contains(err, "plugin 'exec-hang': did not answer within 2000 ms; stopped it");
	assert_true(ms >= 2000);
	free(err);
}

static void test_loader_exec_plugin_bad_manifest(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	free(write_file(dir, "plugin.yaml", "name: broken\nversion: 1.0.0\nhandlers: {}\n"));
	struct registry r;
	registry_init(&r);
	struct strv errors = STRV_INIT;
	assert_int_equal(registry_load_one(&r, dir, &errors), CRATIS_EPLUGIN);
	char *j = joined(&errors);
	assert_contains(j, "plugin.yaml:1:1: executable: expected a string");
	assert_contains(j, "plugin.yaml:3:1: handlers: expected a non-empty sequence");
	free(j);
	strv_release(&errors);
	registry_release(&r);
	tmp_cleanup(dir);
}

/* Registry with tests/plugins/exec/NAME loaded; *h its handler of Thing. */
static void load_exec(struct registry *r, const char *name, struct handler **h)
{
	registry_init(r);
	struct strv errors = STRV_INIT;
	char *rel = xasprintf("exec/%s", name);
	char *dir = path_of("TEST_SOURCE_PLUGINS", rel);
	assert_int_equal(registry_load_one(r, dir, &errors), 0);
	*h = registry_find(r, name, "Thing");
	assert_non_null(*h);
	free(rel);
	free(dir);
	strv_release(&errors);
}

static int apply_once(struct handler *h, const char *name, const char *spec, json_t **out)
{
	struct cratis_request req = { .api_version = "x/v1", .kind = "Thing", .name = name, .spec = spec };
	struct call c;
	call_init(&c, name);
	int rc = handler_call(h, OP_APPLY, &req, &c, out);
	call_release(&c);
	return rc;
}

/* A plugin that stops reading its stdin: a request larger than the pipe cannot block cratis past
 * the plugin's timeout. */
static void test_loader_exec_plugin_never_reads(void **state)
{
	(void)state;
	struct registry r;
	struct handler *h;
	load_exec(&r, "hang", &h);
	struct buf spec = BUF_INIT;
	buf_adds(&spec, "{\"blob\":\"");
	for (int i = 0; i < 1 << 20; i++)
		buf_addch(&spec, 'x');
	buf_adds(&spec, "\"}");
	json_t *out = NULL;
	assert_int_equal(apply_once(h, "big", spec.ptr, &out), CRATIS_ETIMEOUT);
	assert_contains(cratis_error_last()->message, "plugin 'exec-hang': did not read its request within 2000 ms; stopped it");
	assert_null(out);
	/* a timeout is not forgiven: the plugin is failed for the rest of the run */
	assert_int_equal(apply_once(h, "small", "{}", &out), CRATIS_EPLUGIN);
	assert_contains(cratis_error_last()->message, "did not read its request within 2000 ms");
	buf_release(&spec);
	registry_release(&r);
}

/* A process that dies fails the request it held and is restarted for the next one, once. */
static void test_loader_exec_plugin_restarts_once(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *mark = xasprintf("%s/crashed", dir);
	assert_int_equal(setenv("FLAKY_MARK", mark, 1), 0);
	struct registry r;
	struct handler *h;
	load_exec(&r, "flaky", &h);
	json_t *out = NULL;
	assert_int_equal(apply_once(h, "first", "{}", &out), CRATIS_EPLUGIN);
	assert_contains(cratis_error_last()->message, "plugin 'exec-flaky': crashed (signal 11)");
	assert_int_equal(apply_once(h, "second", "{}", &out), CRATIS_OK);
	assert_true(json_integer_value(json_object_get(out, "pid")) > 0);
	json_decref(out);
	registry_release(&r);

	/* dies every time: the first death is forgiven, the second is final */
	load_exec(&r, "crash", &h);
	assert_int_equal(apply_once(h, "a", "{}", &out), CRATIS_EPLUGIN);
	assert_int_equal(apply_once(h, "b", "{}", &out), CRATIS_EPLUGIN);
	assert_contains(cratis_error_last()->message, "plugin 'exec-crash': crashed (signal 11)");
	assert_int_equal(apply_once(h, "c", "{}", &out), CRATIS_EPLUGIN);
	assert_contains(cratis_error_last()->message, "plugin 'exec-crash': crashed (signal 11)");
	registry_release(&r);
	unsetenv("FLAKY_MARK");
	free(mark);
	tmp_cleanup(dir);
}

struct caller {
	struct handler *h;
	char name[16];
	int rc;
	char *got;
};

static void *call_in_thread(void *arg)
{
	struct caller *c = arg;
	json_t *out = NULL;
	c->rc = apply_once(c->h, c->name, "{}", &out);
	const char *n = json_string_value(json_object_get(out, "name"));
	c->got = n ? xstrdup(n) : xstrdup(cratis_error_last()->message);
	json_decref(out);
	error_clear();
	return NULL;
}

/* concurrency: 4 sends four requests to one process, which answers them in reverse order: each
 * caller gets the answer to its own request. */
static void test_loader_exec_plugin_multiplexes(void **state)
{
	(void)state;
	struct registry r;
	struct handler *h;
	load_exec(&r, "reverse", &h);
	struct caller cs[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		cs[i] = (struct caller){ .h = h };
		snprintf(cs[i].name, sizeof(cs[i].name), "t%d", i);
		assert_int_equal(pthread_create(&th[i], NULL, call_in_thread, &cs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(cs[i].rc, CRATIS_OK);
		assert_string_equal(cs[i].got, cs[i].name);
		free(cs[i].got);
	}
	registry_release(&r);
}

/* concurrency must be an integer from 1 to 1024, with plugin.yaml's file:line:col. */
static void test_loader_exec_plugin_bad_concurrency(void **state)
{
	(void)state;
	const char *bad[] = { "0", "1025", "two", "[1]", "1.5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *dir = tmp_dir();
		char *yaml = xasprintf("name: conc\nversion: 1.0.0\nexecutable: run.sh\nconcurrency: %s\n"
		                       "handlers:\n  - {group: conc, kind: Thing, versions: [v1]}\n", bad[i]);
		free(write_file(dir, "plugin.yaml", yaml));
		struct registry r;
		registry_init(&r);
		struct strv errors = STRV_INIT;
		assert_int_equal(registry_load_one(&r, dir, &errors), CRATIS_EPLUGIN);
		char *j = joined(&errors);
		assert_contains(j, "plugin.yaml:4:");
		assert_contains(j, ": concurrency: expected an integer from 1 to 1024");
		assert_null(registry_find(&r, "conc", "Thing"));
		free(j);
		free(yaml);
		strv_release(&errors);
		registry_release(&r);
		tmp_cleanup(dir);
	}
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
	struct strv errors = STRV_INIT;
	char *builtin = path_of("CRATIS_BUILD_DIR", "plugins");
	strv_push(&r.dirs, builtin);
	strv_push(&r.dirs, dir);
	int rc = registry_load(&r, &errors);
	char *j = joined(&errors);
	assert_int_equal(rc != 0, errors.n != 0);
	free(builtin);
	free(yaml);
	free(pdir);
	strv_release(&errors);
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
		cmocka_unit_test(test_loader_exec_plugin_never_reads),
		cmocka_unit_test(test_loader_exec_plugin_restarts_once),
		cmocka_unit_test(test_loader_exec_plugin_multiplexes),
		cmocka_unit_test(test_loader_exec_plugin_bad_concurrency),
		cmocka_unit_test(test_loader_plugin_requirements),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
