/* Unit tests: pull agents in the application layer (src/app/agent.h) on a SQLite store: which
 * resources each side runs, cross-System dependencies refused, the work and its generations, the
 * reports and the server deployment they settle (succeeded only when all did, superseded work). */
#include "helpers.h"

#include "app/agent.h"

static const char project[] =
	"apiVersion: cratis/v1\nkind: System\nmetadata: {name: edge-a}\nspec: {agent: true}\n---\n"
	"apiVersion: cratis/v1\nkind: System\nmetadata: {name: edge-b}\nspec: {agent: true}\n---\n"
	"apiVersion: cratis/v1\nkind: System\nmetadata: {name: local}\n---\n"
	"apiVersion: cratis/v1\nkind: Environment\nmetadata: {name: staging}\nspec: {systems: [edge-a, edge-b, local]}\n---\n"
	"apiVersion: cratis/v1\nkind: Project\nmetadata: {name: demo}\n---\n"
	"apiVersion: exec/v1\nkind: Task\nmetadata: {name: a1}\nspec: {system: edge-a, apply: [\"true\"]}\n---\n"
	"apiVersion: exec/v1\nkind: Task\nmetadata: {name: a2}\nspec: {system: edge-a, apply: [\"true\"], dependsOn: [Task/a1]}\n---\n"
	"apiVersion: exec/v1\nkind: Task\nmetadata: {name: b1}\nspec: {system: edge-b, apply: [\"true\"]}\n---\n"
	"apiVersion: exec/v1\nkind: Task\nmetadata: {name: s1}\nspec: {system: local, apply: [\"true\"]}\n";

struct fixture {
	char *dir;
	struct app_buffer buf;
	const char *paths[1];
	struct app_options o;
	struct app *a;
};

static void open_project(struct fixture *f, const char *yaml)
{
	f->dir = tmp_dir();
	char *plugins = xasprintf("%s/plugins", getenv("CRATIS_BUILD_DIR"));
	setenv("CRATIS_PLUGIN_PATH", plugins, 1);
	free(plugins);
	f->buf = (struct app_buffer){ "request.yaml", yaml, strlen(yaml) };
	f->paths[0] = f->dir;
	f->o = (struct app_options){ .paths = f->paths, .npaths = 1, .buffers = &f->buf, .nbuffers = 1, .jobs = 2,
	                             .refresh = true, .command_line = "test_agent" };
	struct diags d = DIAGS_INIT;
	assert_int_equal(app_open(&f->a, &f->o, APP_LOAD_MANIFESTS, &d), CRATIS_OK);
	diags_release(&d);
}

static void close_project(struct fixture *f)
{
	app_close(f->a);
	tmp_cleanup(f->dir);
}

static char *strv_joined(const struct strv *v)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < v->n; i++)
		buf_addf(&b, "%s%s", i ? "," : "", v->v[i]);
	return buf_detach(&b);
}

static void test_agent_targets_split_by_system(void **state)
{
	(void)state;
	struct fixture f;
	open_project(&f, project);
	struct diags d = DIAGS_INIT;
	struct strv t = STRV_INIT, pull = STRV_INIT;
	assert_int_equal(app_agent_targets(f.a, NULL, &t, &pull, &d), CRATIS_OK);
	char *s = strv_joined(&t), *p = strv_joined(&pull);
	assert_string_equal(s, "demo/Task/s1");
	assert_string_equal(p, "edge-a,edge-b");
	free(s);
	free(p);
	strv_release(&t);
	strv_release(&pull);
	assert_int_equal(app_agent_targets(f.a, "edge-a", &t, NULL, &d), CRATIS_OK);
	s = strv_joined(&t);
	assert_string_equal(s, "demo/Task/a1,demo/Task/a2");
	free(s);
	strv_release(&t);
	assert_int_equal(app_agent_targets(f.a, "nowhere", &t, NULL, &d), CRATIS_OK);
	assert_int_equal(t.n, 0);
	assert_int_equal(d.n, 0);
	diags_release(&d);
	close_project(&f);
}

static void test_agent_cross_system_dependency_refused(void **state)
{
	(void)state;
	char *yaml = xasprintf("%s---\napiVersion: exec/v1\nkind: Task\nmetadata: {name: s2}\n"
	                       "spec: {system: local, apply: [\"true\"], dependsOn: [Task/b1]}\n", project);
	struct fixture f;
	open_project(&f, yaml);
	struct diags d = DIAGS_INIT;
	struct strv t = STRV_INIT, pull = STRV_INIT;
	assert_int_equal(app_agent_targets(f.a, NULL, &t, &pull, &d), CRATIS_EINVAL);
	assert_int_equal(diags_errors(&d), 1);
	assert_string_equal(d.v[0].field, "spec.dependsOn");
	assert_string_equal(d.v[0].file, "request.yaml");
	assert_non_null(strstr(d.v[0].message, "'Task/s2' is on System 'local' and 'Task/b1' on System 'edge-b'"));
	strv_release(&t);
	strv_release(&pull);
	diags_release(&d);
	close_project(&f);
	free(yaml);
}

static int64_t dispatch(struct fixture *f)
{
	struct strv systems = STRV_INIT;
	strv_push(&systems, "edge-a");
	strv_push(&systems, "edge-b");
	json_t *loc = json_pack("{s:s}", "path", f->dir);
	struct agent_dispatch w = { .project = "demo", .location = loc, .environment = "staging", .command = "test",
		                    .systems = &systems };
	struct diags d = DIAGS_INIT;
	int64_t id = 0;
	assert_int_equal(app_agent_dispatch(f->a, &w, &id, &d), CRATIS_OK);
	assert_true(id > 0);
	diags_release(&d);
	json_decref(loc);
	strv_release(&systems);
	return id;
}

/* The recorded result of deployment id. Heap. */
static char *result_of(struct fixture *f, int64_t id, char **summary)
{
	json_t *h;
	struct diags d = DIAGS_INIT;
	assert_int_equal(app_history(f->a, NULL, &h, &d), CRATIS_OK);
	char *r = NULL;
	size_t i;
	json_t *x;
	json_array_foreach(h, i, x)
		if (json_integer_value(json_object_get(x, "id")) == id) {
			r = xstrdup(json_string_value(json_object_get(x, "result")));
			if (summary)
				*summary = xstrdup(json_string_value(json_object_get(x, "summary")));
		}
	json_decref(h);
	diags_release(&d);
	assert_non_null(r);
	return r;
}

static int report(struct fixture *f, const char *system, int64_t gen, int64_t dep, const char *result, struct diags *d)
{
	json_t *r = json_pack("{s:I, s:s, s:s, s:I, s:s, s:[{s:s, s:s, s:b}]}", "generation", (json_int_t)gen, "project",
	                      "demo", "environment", "staging", "deployment", (json_int_t)dep, "result", result, "outputs",
	                      "name", "token", "value", "s3cr3t", "sensitive", 1);
	json_t *out = NULL;
	int rc = app_agent_report(f->a, system, r, &out, d);
	json_decref(r);
	json_decref(out);
	return rc;
}

static void test_agent_work_reports_settle_the_deployment(void **state)
{
	(void)state;
	struct fixture f;
	open_project(&f, project);
	struct diags d = DIAGS_INIT;
	int64_t id = dispatch(&f);
	json_t *w;
	assert_int_equal(app_agent_work(f.a, "edge-a", 0, &w, &d), CRATIS_OK);
	assert_non_null(w);
	assert_int_equal(json_integer_value(json_object_get(w, "generation")), 1);
	json_t *item = json_array_get(json_object_get(w, "work"), 0);
	assert_int_equal(json_integer_value(json_object_get(item, "deployment")), id);
	assert_string_equal(json_string_value(json_object_get(json_object_get(item, "location"), "path")), f.dir);
	json_decref(w);
	assert_int_equal(app_agent_work(f.a, "edge-a", 1, &w, &d), CRATIS_OK);
	assert_null(w); /* nothing newer */
	assert_int_equal(app_agent_work(f.a, "edge-a", 7, &w, &d), CRATIS_OK);
	assert_non_null(w); /* an agent ahead of this store takes its work */
	assert_int_equal(json_integer_value(json_object_get(w, "generation")), 1);
	json_decref(w);
	assert_int_equal(app_agent_work(f.a, "nowhere", 0, &w, &d), CRATIS_OK);
	assert_null(w);

	char *r = result_of(&f, id, NULL);
	assert_string_equal(r, "running");
	free(r);
	assert_int_equal(app_agent_server_done(f.a, id, "none", 0, &d), CRATIS_OK);
	assert_int_equal(report(&f, "edge-a", 1, id, "succeeded", &d), CRATIS_OK);
	r = result_of(&f, id, NULL);
	assert_string_equal(r, "running"); /* edge-b has not reported */
	free(r);
	assert_int_equal(report(&f, "edge-b", 1, id, "failed", &d), CRATIS_OK);
	char *sum = NULL;
	r = result_of(&f, id, &sum);
	assert_string_equal(r, "failed");
	assert_string_equal(sum, "server: none; agent edge-a: succeeded; agent edge-b: failed");
	free(r);
	free(sum);
	assert_int_equal(d.n, 0);

	/* the agents' status: generation, lag, the sensitive output never kept */
	json_t *ag;
	assert_int_equal(app_agents(f.a, "edge-a", &ag, &d), CRATIS_OK);
	assert_int_equal(json_integer_value(json_object_get(ag, "generation")), 1);
	assert_int_equal(json_integer_value(json_object_get(ag, "lag")), 0);
	char *text = json_dumps(ag, 0);
	assert_null(strstr(text, "s3cr3t"));
	assert_non_null(strstr(text, "(sensitive)"));
	free(text);
	json_decref(ag);
	assert_int_equal(app_agents(f.a, "nowhere", &ag, &d), CRATIS_ENOTFOUND);
	diags_release(&d);
	close_project(&f);
}

static void test_agent_superseded_and_malformed(void **state)
{
	(void)state;
	struct fixture f;
	open_project(&f, project);
	struct diags d = DIAGS_INIT;
	int64_t first = dispatch(&f);
	assert_int_equal(app_agent_server_done(f.a, first, "succeeded", 0, &d), CRATIS_OK);
	assert_int_equal(report(&f, "edge-a", 1, first, "succeeded", &d), CRATIS_OK);
	int64_t second = dispatch(&f); /* edge-b never took generation 1 */
	char *sum = NULL, *r = result_of(&f, first, &sum);
	assert_string_equal(r, "failed");
	assert_string_equal(sum, "server: succeeded; agent edge-a: succeeded; agent edge-b: superseded");
	free(r);
	free(sum);
	json_t *w;
	assert_int_equal(app_agent_work(f.a, "edge-b", 0, &w, &d), CRATIS_OK);
	assert_int_equal(json_integer_value(json_object_get(w, "generation")), 2);
	assert_int_equal(json_array_size(json_object_get(w, "work")), 1);
	json_decref(w);
	json_t *ag;
	assert_int_equal(app_agents(f.a, "edge-a", &ag, &d), CRATIS_OK);
	assert_int_equal(json_integer_value(json_object_get(ag, "lag")), 1); /* desired 2, applied 1 */
	json_decref(ag);
	/* a report of older work does not settle the newer deployment */
	assert_int_equal(app_agent_server_done(f.a, second, "succeeded", 0, &d), CRATIS_OK);
	assert_int_equal(report(&f, "edge-a", 2, second, "succeeded", &d), CRATIS_OK);
	assert_int_equal(d.n, 0);
	r = result_of(&f, second, NULL);
	assert_string_equal(r, "running");
	free(r);
	/* malformed: each field named */
	assert_int_equal(report(&f, "edge-b", -1, second, "perhaps", &d), CRATIS_EINVAL);
	assert_int_equal(diags_errors(&d), 2);
	assert_string_equal(d.v[0].field, "generation");
	assert_string_equal(d.v[1].field, "result");
	diags_release(&d);
	close_project(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_targets_split_by_system),
		cmocka_unit_test(test_agent_cross_system_dependency_refused),
		cmocka_unit_test(test_agent_work_reports_settle_the_deployment),
		cmocka_unit_test(test_agent_superseded_and_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
