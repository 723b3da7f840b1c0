/* Unit tests: the application layer as a library, without the CLI: a project opened from a
 * buffer, plan, apply, queries as JSON, located diagnostics, the review callback, the lock. */
#include "helpers.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "app/app.h"

static const char project[] =
	"apiVersion: cratis/v1\nkind: System\nmetadata: {name: local}\n---\n"
	"apiVersion: cratis/v1\nkind: Project\nmetadata: {name: lib}\n---\n"
	"apiVersion: exec/v1\nkind: Task\nmetadata: {name: hello}\nspec:\n  system: local\n  apply: [touch, hello.marker]\n";

struct fixture {
	char *dir;
	struct app_buffer buf;
	const char *paths[1];
	struct app_options o;
};

static void fixture_init(struct fixture *f, const char *yaml)
{
	f->dir = tmp_dir();
	/* the built-in plugins of this build */
	char *plugins = xasprintf("%s/plugins", getenv("CRATIS_BUILD_DIR"));
	setenv("CRATIS_PLUGIN_PATH", plugins, 1);
	free(plugins);
	f->buf = (struct app_buffer){ "request.yaml", yaml, strlen(yaml) };
	f->paths[0] = f->dir;
	f->o = (struct app_options){ .paths = f->paths, .npaths = 1, .buffers = &f->buf, .nbuffers = 1, .jobs = 2,
	                             .refresh = true, .command_line = "test_app" };
}

static void test_app_open_apply_query(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, project);
	struct app *a;
	struct diags d = DIAGS_INIT;
	assert_int_equal(app_open(&a, &f.o, APP_LOAD_MANIFESTS, &d), CRATIS_OK);
	assert_int_equal(d.n, 0);
	struct plan p;
	assert_int_equal(app_plan(a, &p, &d), CRATIS_OK);
	assert_true(app_plan_has_changes(&p));
	json_t *j = app_plan_json(&p);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "resources"), 0), "action")), "create");
	json_decref(j);
	app_plan_release(&p);

	struct app_run run;
	assert_int_equal(app_apply(a, false, NULL, NULL, &p, &run, &d), CRATIS_OK);
	assert_true(run.changes);
	assert_true(run.approved);
	assert_int_equal(run.counts.ok, 1);
	app_plan_release(&p);
	char *marker = xasprintf("%s/hello.marker", f.dir);
	assert_int_equal(access(marker, F_OK), 0);
	free(marker);

	json_t *res;
	assert_int_equal(app_resources(a, &res, &d), CRATIS_OK);
	assert_int_equal(json_array_size(res), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "status")), "ready");
	json_decref(res);
	json_t *hist;
	assert_int_equal(app_history(a, NULL, &hist, &d), CRATIS_OK);
	assert_int_equal(json_array_size(hist), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 0), "result")), "succeeded");
	assert_string_equal(json_string_value(json_object_get(json_array_get(hist, 0), "command")), "test_app");
	json_decref(hist);
	json_t *rows, *locks;
	assert_int_equal(app_state_list(a, "", &rows, &locks, &d), CRATIS_OK);
	assert_int_equal(json_array_size(rows), 1);
	assert_int_equal(json_array_size(locks), 0); /* released after the apply */
	json_decref(rows);
	json_decref(locks);
	assert_int_equal(d.n, 0);
	app_close(a);
	diags_release(&d);
	tmp_cleanup(f.dir);
}

static bool decline(const struct plan *p, bool changes, void *payload)
{
	(void)p;
	*(int *)payload += changes;
	return false;
}

static void test_app_review_declines(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, project);
	struct app *a;
	struct diags d = DIAGS_INIT;
	assert_int_equal(app_open(&a, &f.o, APP_LOAD_MANIFESTS, &d), CRATIS_OK);
	struct plan p;
	struct app_run run;
	int asked = 0;
	assert_int_equal(app_apply(a, false, decline, &asked, &p, &run, &d), CRATIS_OK);
	assert_int_equal(asked, 1);
	assert_false(run.approved);
	assert_int_equal(run.counts.deployment, 0);
	app_plan_release(&p);
	char *marker = xasprintf("%s/hello.marker", f.dir);
	assert_int_not_equal(access(marker, F_OK), 0);
	free(marker);
	json_t *hist;
	assert_int_equal(app_history(a, NULL, &hist, &d), CRATIS_OK);
	assert_int_equal(json_array_size(hist), 0);
	json_decref(hist);
	app_close(a);
	diags_release(&d);
	tmp_cleanup(f.dir);
}

static void test_app_buffer_errors_are_located(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, "apiVersion: acme/v1\nkind: Widget\nmetadata: {name: w}\nspec: {}\n");
	struct app *a;
	struct diags d = DIAGS_INIT;
	assert_int_equal(app_open(&a, &f.o, APP_LOAD_MANIFESTS, &d), CRATIS_EINVAL);
	assert_null(a);
	assert_int_equal(diags_errors(&d), 1);
	assert_string_equal(d.v[0].file, "request.yaml");
	assert_int_equal(d.v[0].line, 2);
	assert_int_equal(d.v[0].column, 7);
	assert_string_equal(d.v[0].field, "kind");
	assert_contains(d.v[0].message, "unknown kind 'Widget' in group 'acme'");
	diags_release(&d);
	tmp_cleanup(f.dir);
}

static void test_app_apply_locked(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, project);
	struct app *a, *b;
	struct diags d = DIAGS_INIT;
	assert_int_equal(app_open(&a, &f.o, APP_LOAD_MANIFESTS, &d), CRATIS_OK);
	assert_int_equal(app_open(&b, &f.o, APP_LOAD_MANIFESTS, &d), CRATIS_OK);
	/* a holds the lock (as a run in progress would) */
	struct lock_info me, holder;
	memset(&me, 0, sizeof(me));
	me.pid = (long)getpid();
	snprintf(me.host, sizeof(me.host), "%s", host_name());
	snprintf(me.command, sizeof(me.command), "cratis apply (first)");
	assert_int_equal(store_lock(a->store, &me, 0, &holder), CRATIS_OK);
	struct plan p;
	struct app_run run;
	assert_int_equal(app_apply(b, false, NULL, NULL, &p, &run, &d), CRATIS_ELOCKED);
	assert_int_equal(diags_status(&d), CRATIS_ELOCKED);
	assert_contains(d.v[0].message, "cratis apply (first)");
	app_plan_release(&p);
	assert_int_equal(store_unlock(a->store, me.id), CRATIS_OK);
	app_close(b);
	app_close(a);
	diags_release(&d);
	tmp_cleanup(f.dir);
}

/* Records the types of the events it gets (called from worker threads). */
struct seen {
	pthread_mutex_t mu;
	int types[64];
	size_t n;
	char failed[256];
};

static void record_event(const struct engine_event *ev, void *payload)
{
	struct seen *s = payload;
	pthread_mutex_lock(&s->mu);
	if (s->n < 64)
		s->types[s->n++] = ev->type;
	if (ev->type == EV_RESOURCE_FAILED)
		snprintf(s->failed, sizeof(s->failed), "%s: %s", ev->resource, ev->message ? ev->message : "");
	pthread_mutex_unlock(&s->mu);
}

static size_t count_of(const struct seen *s, int type)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->types[i] == type;
	return n;
}

static void test_app_observer_sees_the_lifecycle(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, "apiVersion: cratis/v1\nkind: System\nmetadata: {name: local}\n---\n"
	                 "apiVersion: exec/v1\nkind: Task\nmetadata: {name: ok}\nspec:\n  system: local\n  apply: [\"true\"]\n---\n"
	                 "apiVersion: exec/v1\nkind: Task\nmetadata: {name: bad}\nspec:\n  system: local\n  apply: [\"false\"]\n---\n"
	                 "apiVersion: exec/v1\nkind: Task\nmetadata: {name: after}\nspec:\n  system: local\n  apply: [\"true\"]\n"
	                 "  dependsOn: [Task/bad]\n");
	struct seen s = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct engine_observer obs = { record_event, &s };
	f.o.observer = &obs;
	struct app *a;
	struct diags d = DIAGS_INIT;
	assert_int_equal(app_open(&a, &f.o, APP_LOAD_MANIFESTS, &d), CRATIS_OK);
	struct plan p;
	struct app_run run;
	assert_int_equal(app_apply(a, false, NULL, NULL, &p, &run, &d), CRATIS_ERROR);
	app_plan_release(&p);
	assert_int_equal(run.counts.ok, 1);
	assert_int_equal(run.counts.failed, 1);
	assert_int_equal(run.counts.skipped, 1);
	assert_int_equal(s.types[0], EV_DEPLOYMENT_STARTED);
	assert_int_equal(s.types[s.n - 1], EV_DEPLOYMENT_FINISHED);
	assert_int_equal(count_of(&s, EV_RESOURCE_STARTED), 2);
	assert_int_equal(count_of(&s, EV_RESOURCE_FINISHED), 1);
	assert_int_equal(count_of(&s, EV_RESOURCE_FAILED), 1);
	assert_int_equal(count_of(&s, EV_RESOURCE_SKIPPED), 1);
	assert_contains(s.failed, "Task/bad: ");
	assert_contains(s.failed, "exited with status 1");
	app_close(a);
	diags_release(&d);
	tmp_cleanup(f.dir);
}

/* A library caller cancels through its own word: nothing starts, no deployment is recorded. */
static void test_app_cancelled_before_apply(void **state)
{
	(void)state;
	struct fixture f;
	fixture_init(&f, project);
	atomic_int cancel = SIGINT;
	f.o.cancel = &cancel;
	struct app *a;
	struct diags d = DIAGS_INIT;
	assert_int_equal(app_open(&a, &f.o, APP_LOAD_MANIFESTS, &d), CRATIS_OK);
	struct plan p;
	struct app_run run;
	assert_int_not_equal(app_apply(a, false, NULL, NULL, &p, &run, &d), CRATIS_OK);
	assert_true(run.cancelled);
	assert_int_equal(run.counts.deployment, 0);
	app_plan_release(&p);
	char *marker = xasprintf("%s/hello.marker", f.dir);
	assert_int_not_equal(access(marker, F_OK), 0);
	free(marker);
	json_t *rows, *locks;
	assert_int_equal(app_state_list(a, "", &rows, &locks, &d), CRATIS_OK);
	assert_int_equal(json_array_size(locks), 0); /* released */
	json_decref(rows);
	json_decref(locks);
	app_close(a);
	diags_release(&d);
	tmp_cleanup(f.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_open_apply_query),
		cmocka_unit_test(test_app_review_declines),
		cmocka_unit_test(test_app_buffer_errors_are_located),
		cmocka_unit_test(test_app_apply_locked),
		cmocka_unit_test(test_app_observer_sees_the_lifecycle),
		cmocka_unit_test(test_app_cancelled_before_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
