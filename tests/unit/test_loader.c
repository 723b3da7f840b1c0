/* Unit tests: plugin loader (shared objects and executables) and its failure modes. */
#include "helpers.h"

#include <signal.h>
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
		/* a crashed plugin is restarted once (and fails the same way again); a timed-out one is
		 * not; either way it then keeps failing at once */
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

/* Registry with tests/plugins/exec/NAME loaded; *h its handler of Thing. */
static void load_exec(struct registry *r, const char *name, struct handler **h)
{
	registry_init(r);
	struct diags errors = DIAGS_INIT;
	char *rel = xasprintf("exec/%s", name);
	char *dir = path_of("TEST_SOURCE_PLUGINS", rel);
	assert_int_equal(registry_load_one(r, dir, &errors), 0);
	*h = registry_find(r, name, "Thing", NULL);
	assert_non_null(*h);
	free(rel);
	free(dir);
	diags_release(&errors);
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

/* For each value: a plugin.yaml (plugin `name`, kind Thing) with `field: value` on line 4 is
 * refused at plugin.yaml:4 with message, and registers nothing. */
static void expect_plugin_yaml_refused(const char *name, const char *field, const char *const *values, size_t n,
                                       const char *message)
{
	for (size_t i = 0; i < n; i++) {
		char *dir = tmp_dir();
		char *yaml = xasprintf("name: %s\nversion: 1.0.0\nexecutable: run.sh\n%s: %s\n"
		                       "handlers:\n  - {group: %s, kind: Thing, versions: [v1]}\n", name, field, values[i], name);
		free(write_file(dir, "plugin.yaml", yaml));
		struct registry r;
		registry_init(&r);
		struct diags errors = DIAGS_INIT;
		assert_int_equal(registry_load_one(&r, dir, &errors), CRATIS_EPLUGIN);
		char *j = joined(&errors);
		assert_contains(j, "plugin.yaml:4:");
		assert_contains(j, message);
		assert_null(registry_find(&r, name, "Thing", NULL));
		free(j);
		free(yaml);
		diags_release(&errors);
		registry_release(&r);
		tmp_cleanup(dir);
	}
}

/* concurrency must be an integer from 1 to 1024, with plugin.yaml's file:line:col. */
static void test_loader_exec_plugin_bad_concurrency(void **state)
{
	(void)state;
	const char *bad[] = { "0", "1025", "two", "[1]", "1.5" };
	expect_plugin_yaml_refused("conc", "concurrency", bad, sizeof(bad) / sizeof(bad[0]),
	                           ": concurrency: expected an integer from 1 to 1024");
}

/* timeoutSeconds must be 0.001 .. 86400: 4294968 s used to overflow into a negative timeout. */
static void test_loader_exec_plugin_bad_timeout(void **state)
{
	(void)state;
	const char *bad[] = { "0", "-5", "4294968", "86401", "soon" };
	expect_plugin_yaml_refused("tmo", "timeoutSeconds", bad, sizeof(bad) / sizeof(bad[0]),
	                           ": timeoutSeconds: expected a number of seconds from 0.001 to 86400");
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

/* Load the test plugin TEST_PLUGINS/rel alone; returns its handler for group/kind. */
static struct handler *load_test_so(struct registry *r, const char *rel, const char *group, const char *kind)
{
	registry_init(r);
	struct diags errors = DIAGS_INIT;
	char *so = path_of("TEST_PLUGINS", rel);
	int rc = registry_load_one(r, so, &errors);
	char *j = joined(&errors);
	if (rc)
		fail_msg("cannot load %s: %s", so, j);
	free(j);
	free(so);
	diags_release(&errors);
	struct handler *h = registry_find(r, group, kind, NULL);
	assert_non_null(h);
	return h;
}

static json_int_t out_int(json_t *out, const char *k)
{
	json_t *v = json_object_get(json_object_get(out, "outputs"), k);
	if (!json_is_integer(v))
		fail_msg("output '%s' is not an integer", k);
	return json_integer_value(v);
}

static const char *out_str(json_t *out, const char *k)
{
	json_t *v = json_object_get(json_object_get(out, "outputs"), k);
	if (!json_is_string(v))
		fail_msg("output '%s' is not a string", k);
	return json_string_value(v);
}

/* A plugin compiled against the frozen ABI 1.1 header (smaller structs) loads and works. */
static void test_loader_abi11_plugin_keeps_working(void **state)
{
	(void)state;
	struct registry r;
	struct handler *h = load_test_so(&r, "abi11/cratis-abi11.so", "abi11", "Old");
	assert_string_equal(h->plugin->version, "1.1.0");
	struct cratis_request req = { .api_version = "abi11/v1", .kind = "Old", .name = "o", .project = "p",
	                              .environment = "staging", .spec = "{\"bad\":true}", .system = "local",
	                              .system_type = "local", .system_spec = "{\"type\":\"local\"}", .dry_run = 1 };
	struct call c;
	call_init(&c, "Old/o");
	json_t *out = NULL;
	assert_int_equal(handler_call(h, OP_VALIDATE, &req, &c, &out), CRATIS_EINVAL);
	assert_string_equal(c.field.ptr, "spec.bad");
	assert_contains(cratis_error_last()->message, "plugin 'abi11': bad is not allowed (1.1 plugin)");
	req.spec = "{}";
	req.dry_run = 0;
	req.deadline_ms = request_clock_ms() + 60000;
	assert_int_equal(handler_call(h, OP_APPLY, &req, &c, &out), CRATIS_OK);
	assert_string_equal(out_str(out, "echo"), "hello from 1.1");
	assert_int_equal(out_int(out, "exit"), 0);
	/* it was built with the 1.1 sizes and got the 1.2 ones */
	assert_int_equal(out_int(out, "hostRequestSize"), sizeof(struct cratis_request));
	assert_true(out_int(out, "builtRequestSize") < (json_int_t)sizeof(struct cratis_request));
	assert_int_equal(out_int(out, "builtRequestSize"), offsetof(struct cratis_request, system));
	assert_int_equal(out_int(out, "hostSize"), sizeof(struct cratis_host));
	assert_int_equal(out_int(out, "builtHostSize"), offsetof(struct cratis_host, secret));
	assert_int_equal(out_int(out, "hostMinor"), CRATIS_ABI_MINOR);
	assert_string_equal(out_str(out, "project"), "p");
	assert_string_equal(out_str(out, "environment"), "staging");
	/* timeout_ms comes from the deadline */
	assert_true(out_int(out, "timeoutMs") > 0 && out_int(out, "timeoutMs") <= 60000);
	json_decref(out);
	call_release(&c);
	registry_release(&r);
}

/* A request whose deadline has passed is refused without calling the plugin. */
static void test_loader_deadline_passed_is_not_called(void **state)
{
	(void)state;
	struct registry r;
	struct handler *h = load_test_so(&r, "abi11/cratis-abi11.so", "abi11", "Old");
	struct cratis_request req = { .api_version = "abi11/v1", .kind = "Old", .name = "o", .spec = "{}",
	                              .deadline_ms = request_clock_ms() - 1 };
	struct call c;
	call_init(&c, "Old/o");
	json_t *out = NULL;
	assert_int_equal(handler_call(h, OP_APPLY, &req, &c, &out), CRATIS_ETIMEOUT);
	assert_null(out);
	assert_string_equal(cratis_error_last()->message, "plugin 'abi11': apply not called: the deadline passed");
	/* NULL strings are filled for the plugin */
	assert_string_equal(req.project, "");
	assert_string_equal(req.environment, "");
	assert_string_equal(req.system, "");
	assert_string_equal(req.system_spec, "{}");
	call_release(&c);
	registry_release(&r);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return xstrdup("");
	struct buf b = BUF_INIT;
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	fclose(f);
	return buf_detach(&b);
}

/* Field n (1-based) of /proc/PID/stat, as a number. */
static long long proc_stat_field(long pid, int n)
{
	char *path = xasprintf("/proc/%ld/stat", pid);
	char *s = read_all(path);
	free(path);
	char *p = strrchr(s, ')');
	long long v = -1;
	int field = 2;
	for (char *c = p; c && *c; c++)
		if (*c == ' ' && ++field == n) {
			v = strtoll(c + 1, NULL, 10);
			break;
		}
	free(s);
	return v;
}

/* The 1.2 host services, through a plugin built against 1.2: secret, emit, run_with, spawn_detached. */
static void test_loader_abi12_host_services(void **state)
{
	(void)state;
	struct registry r;
	struct handler *h = load_test_so(&r, "abi12/cratis-probe.so", "probe", "Probe");
	char *dir = tmp_dir();
	free(write_file(dir, "token.txt", "s3cr3t-token\n"));
	setenv("CRATIS_TEST_SECRET", "hunter2", 1);
	char *rec = xasprintf("%s/requests.jsonl", dir);
	char *spec = xasprintf("{\"record\":\"%s\",\"secret\":\"env:CRATIS_TEST_SECRET\",\"stdin\":\"one\\ntwo\\nthree\","
	                       "\"stopEarly\":true,\"detach\":true}", rec);
	struct cratis_request req = { .api_version = "probe/v1", .kind = "Probe", .name = "x", .project = "p",
	                              .environment = "staging", .spec = spec, .workdir = dir, .system = "box",
	                              .system_type = "ssh",
	                              .system_spec = "{\"type\":\"ssh\",\"auth\":{\"token\":{\"fromFile\":\"token.txt\"}}}" };
	struct call c;
	call_init(&c, "Probe/x");
	json_t *out = NULL;
	assert_int_equal(handler_call(h, OP_APPLY, &req, &c, &out), CRATIS_OK);
	/* secret */
	assert_int_equal(out_int(out, "secretStatus"), 0);
	assert_int_equal(out_int(out, "secretLength"), 7);
	assert_string_equal(out_str(out, "secretPrefix"), "hun");
	assert_int_equal(out_int(out, "authTokenLength"), 12);   /* file, trailing newline removed */
	/* emit: collected per call */
	assert_int_equal(out_int(out, "emitStatus"), 0);
	assert_int_equal(out_int(out, "emitBadStatus"), CRATIS_EINVAL);
	assert_int_equal(json_array_size(c.events), 1);
	json_t *ev = json_array_get(c.events, 0);
	assert_string_equal(json_string_value(json_object_get(ev, "type")), "probe.applied");
	assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "data"), "name")), "x");
	/* run_with: stdin fed, every line streamed, stdout capped at 4 bytes */
	assert_int_equal(out_int(out, "runStatus"), 0);
	assert_int_equal(out_int(out, "runExit"), 0);
	assert_string_equal(out_str(out, "runCaptured"), "one\n");
	assert_true(json_is_true(json_object_get(json_object_get(out, "outputs"), "runTruncated")));
	json_t *lines = json_object_get(json_object_get(out, "outputs"), "runLines");
	assert_int_equal(json_array_size(lines), 3);
	const char *want[] = { "one", "two", "three" };
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(json_string_value(json_object_get(json_array_get(lines, i), "line")), want[i]);
		assert_int_equal(json_integer_value(json_object_get(json_array_get(lines, i), "stream")), 1);
	}
	/* a callback's non-zero return stops the process and is returned */
	assert_int_equal(out_int(out, "stopStatus"), -42);
	assert_int_equal(out_int(out, "stopExit"), 128 + 9);
	assert_int_equal(json_array_size(json_object_get(json_object_get(out, "outputs"), "stopLines")), 1);
	/* spawn_detached: not our child, its own session and group, start time as in /proc */
	assert_int_equal(out_int(out, "detachStatus"), 0);
	long pid = (long)out_int(out, "pid");
	assert_true(pid > 1);
	assert_true(proc_stat_field(pid, 4) != (long long)getpid());
	assert_int_equal(getpgid((pid_t)pid), pid);
	assert_int_equal(getsid((pid_t)pid), pid);
	assert_int_equal(out_int(out, "startTime"), proc_stat_field(pid, 22));
	char *logtext = NULL;
	for (int i = 0; i < 200; i++) {
		free(logtext);
		logtext = read_all(out_str(out, "log"));
		if (strstr(logtext, "detached 42"))
			break;
		usleep(20000);
	}
	assert_contains(logtext, "detached 42");
	free(logtext);
	assert_int_equal(kill(-(pid_t)pid, SIGKILL), 0);
	assert_int_equal(out_int(out, "detachBadStatus"), CRATIS_EIO);
	/* what the plugin received */
	char *recorded = read_all(rec);
	assert_contains(recorded, "\"op\":\"apply\"");
	assert_contains(recorded, "\"system\":\"box\"");
	assert_contains(recorded, "\"systemType\":\"ssh\"");
	assert_contains(recorded, "\"systemSpec\":{\"auth\":{\"token\":{\"fromFile\":\"token.txt\"}},\"type\":\"ssh\"}");
	assert_contains(recorded, "\"dryRun\":0");
	assert_contains(recorded, "\"deadlineMs\":0");
	free(recorded);
	json_decref(out);
	call_release(&c);
	free(spec);
	free(rec);
	unsetenv("CRATIS_TEST_SECRET");
	tmp_cleanup(dir);
	registry_release(&r);
}

/* host->secret: providers, reference objects, and errors that never show the value. */
static void test_loader_secret_references(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	free(write_file(dir, "pw", "from-file\r\n"));
	struct cratis_request req = { .workdir = dir };
	struct call c;
	call_init(&c, "Thing/t");
	c.req = &req;
	char *v = NULL;
	setenv("CRATIS_TEST_SECRET", "hunter2", 1);
	assert_int_equal(host_services.secret(&c, "env:CRATIS_TEST_SECRET", &v), CRATIS_OK);
	assert_string_equal(v, "hunter2");
	host_services.free(v);
	assert_int_equal(host_services.secret(&c, "{\"fromEnv\":\"CRATIS_TEST_SECRET\"}", &v), CRATIS_OK);
	assert_string_equal(v, "hunter2");
	host_services.free(v);
	assert_int_equal(host_services.secret(&c, "file:pw", &v), CRATIS_OK);
	assert_string_equal(v, "from-file");
	host_services.free(v);
	assert_int_equal(host_services.secret(&c, "{\"fromFile\":\"pw\"}", &v), CRATIS_OK);
	assert_string_equal(v, "from-file");
	host_services.free(v);
	assert_int_equal(host_services.secret(&c, "env:CRATIS_TEST_NO_SUCH_VAR", &v), CRATIS_ENOTFOUND);
	assert_null(v);
	assert_string_equal(c.err.ptr, "secret 'env:CRATIS_TEST_NO_SUCH_VAR': environment variable 'CRATIS_TEST_NO_SUCH_VAR' is not set");
	assert_int_equal(host_services.secret(&c, "file:missing", &v), CRATIS_ENOTFOUND);
	assert_contains(c.err.ptr, "secret 'file:missing': cannot read '");
	assert_int_equal(host_services.secret(&c, "{\"secret\":\"db\"}", &v), CRATIS_ENOTFOUND);
	assert_string_equal(c.err.ptr, "secret '{\"secret\":\"db\"}': no secret provider 'secret' (known: env, file)");
	assert_int_equal(host_services.secret(&c, "vault", &v), CRATIS_EINVAL);
	assert_contains(c.err.ptr, "secret 'vault': expected env:NAME, file:PATH");
	assert_int_equal(host_services.secret(&c, "{\"fromEnv\":\"A\",\"fromFile\":\"B\"}", &v), CRATIS_EINVAL);
	unsetenv("CRATIS_TEST_SECRET");
	call_release(&c);
	tmp_cleanup(dir);
}

/* The exec form carries the same 1.2 fields in its JSON request. */
static void test_loader_exec_request_json(void **state)
{
	(void)state;
	struct cratis_request req = { .api_version = "x/v1", .kind = "Thing", .name = "t", .project = "p",
	                              .environment = "e", .spec = "{\"a\":1}", .system = "local", .system_type = "local",
	                              .system_spec = "{\"type\":\"local\",\"auth\":{\"token\":{\"fromEnv\":\"TOKEN\"}}}",
	                              .deadline_ms = 1700000000000, .timeout_ms = 5000, .dry_run = 1 };
	json_t *j = exec_request_json(&req);
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_contains(text, "\"system\":{\"name\":\"local\",\"spec\":{\"auth\":{\"token\":{\"fromEnv\":\"TOKEN\"}},\"type\":\"local\"},\"type\":\"local\"}");
	assert_contains(text, "\"deadlineMs\":1700000000000");
	assert_contains(text, "\"timeoutMs\":5000");
	assert_contains(text, "\"dryRun\":true");
	free(text);
	json_decref(j);
	req.system = "";
	j = exec_request_json(&req);
	assert_true(json_is_null(json_object_get(j, "system")));
	json_decref(j);
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
		cmocka_unit_test(test_loader_exec_plugin_bad_timeout),
		cmocka_unit_test(test_loader_plugin_requirements),
		cmocka_unit_test(test_loader_abi11_plugin_keeps_working),
		cmocka_unit_test(test_loader_deadline_passed_is_not_called),
		cmocka_unit_test(test_loader_abi12_host_services),
		cmocka_unit_test(test_loader_secret_references),
		cmocka_unit_test(test_loader_exec_request_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
