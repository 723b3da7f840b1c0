/* Unit tests: plan diff against recorded state, and apply through the executor. */
#include "helpers.h"

#include "engine/engine.h"
#include "manifest/manifest.h"
#include "model/model.h"
#include "state/store.h"

struct fake_calls fake_calls;

struct world {
	char *dir;
	struct store *store;
	struct registry reg;
	struct manifest_set ms;
	struct model m;
	struct plan p;
	struct diags errors;
	struct engine_opts o;
};

static const char env[] =
	"apiVersion: cratis/v1\nkind: Environment\nmetadata: {name: dev}\n";

static void world_open(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->dir = tmp_dir();
	char *db = xasprintf("%s/state.db", w->dir);
	assert_int_equal(store_open_sqlite(&w->store, db), 0);
	free(db);
	registry_init(&w->reg);
	fake_register(&w->reg);
	w->o = (struct engine_opts){ .workdir = w->dir, .statedir = w->dir, .refresh = true, .jobs = 2 };
	memset(&fake_calls, 0, sizeof(fake_calls));
}

/* Load manifests text, build the model and the plan; returns plan_build's status. */
static int world_plan(struct world *w, const char *text)
{
	plan_release(&w->p);
	diags_release(&w->errors);
	model_release(&w->m);
	manifest_set_release(&w->ms);
	char *mdir = xasprintf("%s/m", w->dir);
	mkdir_p(mdir);
	char *body = xasprintf("%s---\n%s", env, text);
	free(write_file(mdir, "m.yaml", body));
	free(body);
	manifest_set_init(&w->ms);
	model_init(&w->m);
	assert_int_equal(manifest_load_path(&w->ms, mdir), 0);
	free(mdir);
	int rc = model_build(&w->m, &w->ms, &w->reg, NULL);
	if (rc) {
		char *j = joined(&w->m.errors);
		fail_msg("model: %s", j);
	}
	return plan_build(&w->p, &w->m, w->store, &w->reg, &w->o, &w->errors);
}

static void world_close(struct world *w)
{
	plan_release(&w->p);
	diags_release(&w->errors);
	model_release(&w->m);
	manifest_set_release(&w->ms);
	registry_release(&w->reg);
	store_close(w->store);
	tmp_cleanup(w->dir);
}

static struct plan_item *item(struct world *w, const char *id)
{
	for (size_t i = 0; i < w->p.n; i++)
		if (!strcmp(w->p.items[i].id, id))
			return &w->p.items[i];
	fail_msg("no plan item %s", id);
	return NULL;
}

static const char two[] =
	"apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {x: 1}\n"
	"---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: b}\nspec: {from: \"${Thing/a.outputs.url}\"}\n";

static void test_plan_create_then_noop(void **state)
{
	(void)state;
	struct world w;
	world_open(&w);
	assert_int_equal(world_plan(&w, two), 0);
	assert_int_equal(w.p.count[ACT_CREATE], 2);
	assert_true(plan_has_changes(&w.p));
	/* b waits for a, and shows a's output as unknown until apply */
	assert_string_equal(w.p.items[0].id, "Thing/a");
	assert_string_equal(json_string_value(json_object_get(item(&w, "Thing/b")->desired, "from")), KNOWN_AFTER_APPLY);
	struct apply_result res;
	assert_int_equal(plan_apply(&w.p, w.store, &w.o, "test", "default", NULL, &res), 0);
	assert_int_equal(res.ok, 2);
	assert_int_equal(fake_calls.apply, 2);

	assert_int_equal(world_plan(&w, two), 0);
	assert_false(plan_has_changes(&w.p));
	assert_int_equal(w.p.count[ACT_NOOP], 2);
	assert_int_equal(fake_calls.observe, 2);
	/* the recorded spec of b holds the resolved output */
	struct state_row *rb = store_rows_find(&w.p.rows, "default", "Thing/b");
	assert_contains(rb->spec, "\"from\":\"http://x\"");
	assert_string_equal(rb->status, "ready");
	assert_contains(rb->deps, "Thing/a");
	world_close(&w);
}

static void test_plan_update_with_changed_fields(void **state)
{
	(void)state;
	struct world w;
	world_open(&w);
	world_plan(&w, two);
	struct apply_result res;
	plan_apply(&w.p, w.store, &w.o, "test", "default", NULL, &res);
	const char *changed =
		"apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {x: 2, y: new}\n"
		"---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: b}\nspec: {from: \"${Thing/a.outputs.url}\"}\n";
	assert_int_equal(world_plan(&w, changed), 0);
	struct plan_item *a = item(&w, "Thing/a");
	assert_int_equal(a->action, ACT_UPDATE);
	assert_int_equal(a->changes.n, 2);
	assert_string_equal(a->changes.v[0], "spec.x");
	assert_string_equal(a->changes.v[1], "spec.y");
	/* b's input comes from a, which changes: b is updated too, its value known after apply */
	assert_int_equal(item(&w, "Thing/b")->action, ACT_UPDATE);
	world_close(&w);
}

/* Re-record a's spec as text (same row otherwise) and plan one again. */
static enum action replan_with_recorded(struct world *w, const char *one, const char *spec_text)
{
	struct state_row r = { .project = "default", .id = "Thing/a", .api_version = "fake/v1", .spec = (char *)spec_text,
	                       .outputs = "{}", .deps = "[]", .status = "ready" };
	assert_int_equal(store_record(w->store, "dev", &r, NULL, 1), 0);
	assert_int_equal(world_plan(w, one), 0);
	return item(w, "Thing/a")->action;
}

static void test_plan_recorded_spec_compared_by_value(void **state)
{
	(void)state;
	struct world w;
	world_open(&w);
	/* strings that need escapes, non-ASCII, a real, nesting, booleans and null */
	const char *one = "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\n"
	                  "spec: {s: \"say \\\"hi\\\"\\tq\\\\\", u: \"h\\u00e9llo\", r: 1.5, i: -7, b: true, n: null,"
	                  " l: [1, [], {}], o: {z: 1, a: [x]}}\n";
	assert_int_equal(world_plan(&w, one), 0);
	struct apply_result res;
	assert_int_equal(plan_apply(&w.p, w.store, &w.o, "test", "default", NULL, &res), 0);
	assert_int_equal(world_plan(&w, one), 0);
	assert_int_equal(item(&w, "Thing/a")->action, ACT_NOOP);
	/* the same value written another way (spaces, key order, escapes, a real's digits) */
	assert_int_equal(replan_with_recorded(&w, one,
	                 "{ \"u\": \"h\\u00e9llo\", \"s\": \"say \\\"hi\\\"\\tq\\\\\", \"r\": 1.50, \"i\": -7,"
	                 " \"n\": null, \"b\": true, \"o\": {\"z\": 1, \"a\": [\"x\"]}, \"l\": [1, [], {}] }"), ACT_NOOP);
	/* an integer recorded as a real is a change */
	assert_int_equal(replan_with_recorded(&w, one,
	                 "{\"b\":true,\"i\":-7.0,\"l\":[1,[],{}],\"n\":null,\"o\":{\"a\":[\"x\"],\"z\":1},\"r\":1.5,"
	                 "\"s\":\"say \\\"hi\\\"\\tq\\\\\",\"u\":\"h\\u00e9llo\"}"), ACT_UPDATE);
	assert_int_equal(item(&w, "Thing/a")->changes.n, 1);
	assert_string_equal(item(&w, "Thing/a")->changes.v[0], "spec.i");
	/* a key recorded twice (the last one counts when parsed), a missing key, an extra key */
	assert_int_equal(replan_with_recorded(&w, one,
	                 "{\"b\":true,\"i\":-7,\"i\":8,\"l\":[1,[],{}],\"n\":null,\"o\":{\"a\":[\"x\"],\"z\":1},\"r\":1.5,"
	                 "\"s\":\"say \\\"hi\\\"\\tq\\\\\",\"u\":\"h\\u00e9llo\"}"), ACT_UPDATE);
	assert_string_equal(item(&w, "Thing/a")->changes.v[0], "spec.i");
	assert_int_equal(replan_with_recorded(&w, one,
	                 "{\"b\":true,\"l\":[1,[],{}],\"n\":null,\"o\":{\"a\":[\"x\"],\"z\":1},\"r\":1.5,"
	                 "\"s\":\"say \\\"hi\\\"\\tq\\\\\",\"u\":\"h\\u00e9llo\"}"), ACT_UPDATE);
	assert_int_equal(replan_with_recorded(&w, one,
	                 "{\"b\":true,\"i\":-7,\"l\":[1,[],{}],\"n\":null,\"o\":{\"a\":[\"x\"],\"z\":1},\"r\":1.5,"
	                 "\"s\":\"say \\\"hi\\\"\\tq\\\\\",\"u\":\"h\\u00e9llo\",\"x\":0}"), ACT_UPDATE);
	assert_string_equal(item(&w, "Thing/a")->changes.v[0], "spec.x");
	/* a longer array, and text that is not JSON */
	assert_int_equal(replan_with_recorded(&w, one,
	                 "{\"b\":true,\"i\":-7,\"l\":[1,[],{},2],\"n\":null,\"o\":{\"a\":[\"x\"],\"z\":1},\"r\":1.5,"
	                 "\"s\":\"say \\\"hi\\\"\\tq\\\\\",\"u\":\"h\\u00e9llo\"}"), ACT_UPDATE);
	assert_string_equal(item(&w, "Thing/a")->changes.v[0], "spec.l");
	assert_int_equal(replan_with_recorded(&w, one, "{\"b\":true,"), ACT_UPDATE);
	world_close(&w);
}

static void test_plan_drift_is_an_update(void **state)
{
	(void)state;
	struct world w;
	world_open(&w);
	const char *one = "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {x: 1}\n";
	world_plan(&w, one);
	struct apply_result res;
	plan_apply(&w.p, w.store, &w.o, "test", "default", NULL, &res);
	fake_calls.drift = 1;
	assert_int_equal(world_plan(&w, one), 0);
	assert_int_equal(item(&w, "Thing/a")->action, ACT_UPDATE);
	assert_string_equal(item(&w, "Thing/a")->reason, "drift: changed by hand");
	w.o.refresh = false;
	assert_int_equal(world_plan(&w, one), 0);
	assert_int_equal(item(&w, "Thing/a")->action, ACT_NOOP);
	world_close(&w);
}

/* The children of a Rollout (store_children): a Service that drifted is refreshed and repaired
 * on its own (the owner unchanged, no new row), and a destroy removes the Route, then the
 * Services, then the owner. Handlers: in-process stand-ins that count their calls per kind. */
static atomic_int child_observe, child_apply, child_destroy;
static int child_obs(void *d, const struct cratis_request *r, char **o)
{
	(void)d;
	child_observe++;
	/* the release r1 lost its process; r2 runs */
	bool dead = !strcmp(r->kind, "Service") && !strcmp(r->name, "web@r1-aa");
	if (!strcmp(r->kind, "Service"))
		assert_non_null(strstr(r->statedir, dead ? "/releases/r1-aa" : "/releases/r2-bb"));
	if (!strcmp(r->kind, "Route")) {
		/* what the Rollout writes to its router: public to the active release, preview too */
		assert_string_equal(r->name, "web");
		assert_non_null(strstr(r->statedir, "/Rollout-web/router"));
		assert_string_equal(r->spec, "{\"listen\":8280,\"preview\":{\"listen\":8281,\"upstream\":\"127.0.0.1:10000\"},"
		                             "\"upstream\":\"127.0.0.1:10000\"}");
	}
	const char *res = dead ? "{\"exists\":true,\"drift\":true,\"reason\":\"process is not running\"}" : "{\"exists\":true,\"drift\":false}";
	*o = host_services.alloc(strlen(res) + 1);
	memcpy(*o, res, strlen(res) + 1);
	return CRATIS_OK;
}
static int child_app(void *d, const struct cratis_request *r, char **o)
{
	(void)d;
	(void)o;
	if (strcmp(r->kind, "Rollout"))
		child_apply++;
	return CRATIS_OK;
}
static int child_des(void *d, const struct cratis_request *r, char **o)
{
	(void)d;
	(void)r;
	(void)o;
	child_destroy++;
	return CRATIS_OK;
}

static void test_plan_children_drift_and_destroy_order(void **state)
{
	(void)state;
	struct world w;
	world_open(&w);
	static const struct cratis_ops ops = { sizeof(struct cratis_ops), NULL, NULL, child_app, child_des, child_obs };
	static const char *const versions[] = { "v1", NULL };
	static const struct cratis_handler hs[] = {
		{ sizeof(struct cratis_handler), "fake", "Rollout", versions, &ops, NULL, NULL },
		{ sizeof(struct cratis_handler), "service", "Service", versions, &ops, NULL, NULL },
		{ sizeof(struct cratis_handler), "router", "Route", versions, &ops, NULL, NULL },
	};
	struct diags errors = DIAGS_INIT;
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(registry_add_handler(&w.reg, w.reg.plugins[0], &hs[i], &errors), 0);
	diags_release(&errors);
	const char *one = "apiVersion: fake/v1\nkind: Rollout\nmetadata: {name: web}\nspec: {activePort: 8280, previewPort: \"8281\"}\n";
	assert_int_equal(world_plan(&w, one), 0);
	struct apply_result res;
	assert_int_equal(plan_apply(&w.p, w.store, &w.o, "test", "default", NULL, &res), 0);
	struct release v[2] = {
		{ .project = "default", .environment = "dev", .rollout = "web", .id = "r1-aa", .colour = "blue", .port = 10000,
		  .spec = "{\"command\":[\"a\"]}", .status = "active", .log = "[]" },
		{ .project = "default", .environment = "dev", .rollout = "web", .id = "r2-bb", .colour = "green", .port = 10001,
		  .spec = "{\"command\":[\"b\"]}", .status = "previous", .log = "[]" },
	};
	assert_int_equal(store_releases_put(w.store, v, 2), 0);
	child_observe = child_apply = child_destroy = 0;
	assert_int_equal(world_plan(&w, one), 0);
	/* the owner is unchanged; only the drifted child is an update, after its owner */
	assert_int_equal(item(&w, "Rollout/web")->action, ACT_NOOP);
	struct plan_item *c = item(&w, "Service/web.r1-aa");
	assert_int_equal(c->action, ACT_UPDATE);
	assert_string_equal(c->reason, "drift: (owned by Rollout/web) process is not running");
	assert_int_equal(c->ndeps, 1);
	assert_string_equal(w.p.items[c->deps[0]].id, "Rollout/web");
	assert_int_equal(w.p.n, 2);
	assert_int_equal(child_observe, 4); /* the Rollout, its two Services and its Route */
	assert_int_equal(plan_apply(&w.p, w.store, &w.o, "test", "default", NULL, &res), 0);
	assert_int_equal(child_apply, 1); /* the child alone: the owner is not applied */
	struct state_rows rows;
	assert_int_equal(store_list(w.store, "dev", NULL, &rows), 0);
	assert_int_equal(rows.n, 4); /* Rollout, Route, two Services: no row of its own for a child */
	store_rows_release(&rows);
	/* a manifest cannot declare a child's id */
	char *clash = xasprintf("%s---\napiVersion: router/v1\nkind: Route\nmetadata: {name: web}\nspec: {x: 1}\n", one);
	assert_int_not_equal(world_plan(&w, clash), 0);
	free(clash);
	char *msg = joined(&w.errors);
	assert_non_null(strstr(msg, "is a child resource of Rollout/web"));
	free(msg);
	/* destroy: the Route first, then the Services, then the owner */
	w.o.destroy = true;
	assert_int_equal(world_plan(&w, one), 0);
	assert_int_equal(w.p.n, 4);
	struct plan_item *ro = item(&w, "Rollout/web"), *route = item(&w, "Route/web");
	assert_int_equal(ro->ndeps, 3);
	for (size_t k = 0; k < 2; k++) {
		struct plan_item *svc = item(&w, k ? "Service/web.r2-bb" : "Service/web.r1-aa");
		assert_int_equal(svc->action, ACT_DELETE);
		assert_int_equal(svc->ndeps, 1);
		assert_ptr_equal(&w.p.items[svc->deps[0]], route);
	}
	assert_int_equal(plan_apply(&w.p, w.store, &w.o, "test", "default", NULL, &res), 0);
	assert_int_equal(child_destroy, 4);
	world_close(&w);
}

static void test_plan_removed_resource_is_deleted(void **state)
{
	(void)state;
	struct world w;
	world_open(&w);
	world_plan(&w, two);
	struct apply_result res;
	plan_apply(&w.p, w.store, &w.o, "test", "default", NULL, &res);
	assert_int_equal(world_plan(&w, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {x: 1}\n"), 0);
	assert_int_equal(item(&w, "Thing/b")->action, ACT_DELETE);
	assert_int_equal(w.p.count[ACT_DELETE], 1);
	assert_int_equal(plan_apply(&w.p, w.store, &w.o, "test", "default", NULL, &res), 0);
	assert_int_equal(fake_calls.destroy, 1);
	/* destroy plans the removal of everything recorded, whatever the manifests say */
	w.o.destroy = true;
	assert_int_equal(world_plan(&w, two), 0);
	assert_int_equal(w.p.n, 1);
	assert_int_equal(item(&w, "Thing/a")->action, ACT_DELETE);
	world_close(&w);
}

static void test_plan_cycle_is_reported_with_location(void **state)
{
	(void)state;
	struct world w;
	world_open(&w);
	int rc = world_plan(&w, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {dependsOn: [Thing/b]}\n"
	                        "---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: b}\nspec: {dependsOn: [Thing/a]}\n");
	assert_int_equal(rc, CRATIS_ECYCLE);
	char *j = joined(&w.errors);
	assert_contains(j, "/m/m.yaml:");
	assert_contains(j, "spec.dependsOn: dependency cycle: Thing/a -> Thing/b -> Thing/a");
	free(j);
	world_close(&w);
}

static void test_plan_validation_error_names_field(void **state)
{
	(void)state;
	struct world w;
	world_open(&w);
	int rc = world_plan(&w, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec:\n  bad: true\n");
	assert_int_equal(rc, CRATIS_EINVAL);
	char *j = joined(&w.errors);
	assert_contains(j, "/m/m.yaml:9:8: spec.bad: Thing/a: plugin 'fake': bad is not allowed");
	free(j);
	world_close(&w);
}

static void test_apply_failure_skips_dependents_and_records(void **state)
{
	(void)state;
	struct world w;
	world_open(&w);
	const char *text =
		"apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {fail: true}\n"
		"---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: b}\nspec: {dependsOn: [Thing/a]}\n"
		"---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: c}\nspec: {}\n";
	assert_int_equal(world_plan(&w, text), 0);
	struct apply_result res;
	assert_int_equal(plan_apply(&w.p, w.store, &w.o, "test", "default", NULL, &res), CRATIS_ERROR);
	assert_int_equal(res.ok, 1);
	assert_int_equal(res.failed, 1);
	assert_int_equal(res.skipped, 1);
	struct state_rows rows;
	store_list(w.store, "dev", NULL, &rows);
	assert_int_equal(rows.n, 2); /* a (failed) and c; b never ran */
	struct state_row *a = store_rows_find(&rows, "default", "Thing/a");
	assert_string_equal(a->status, "failed");
	assert_contains(a->message, "failing as asked");
	assert_null(a->spec);
	store_rows_release(&rows);
	/* the next plan retries a, and plans b */
	assert_int_equal(world_plan(&w, text), 0);
	assert_int_equal(item(&w, "Thing/a")->action, ACT_CREATE);
	assert_int_equal(item(&w, "Thing/b")->action, ACT_CREATE);
	assert_int_equal(item(&w, "Thing/c")->action, ACT_NOOP);
	struct deployments d;
	store_history(w.store, "dev", 0, &d);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].result, "failed");
	assert_string_equal(d.v[0].summary, "1 succeeded, 1 failed, 1 skipped");
	store_deployments_release(&d);
	world_close(&w);
}

/* Every state directory stays under STATEDIR/run: a name that would leave it is an error
 * (issue 9, item 5; names read back from the state store are not checked by the model). */
static void test_engine_statedir_stays_under_run(void **state)
{
	(void)state;
	char *d = NULL;
	assert_int_equal(engine_statedir(&d, "/s/.cratis", "", "demo", "Service/web"), CRATIS_OK);
	assert_string_equal(d, "/s/.cratis/run/_/demo/Service-web");
	free(d);
	assert_int_equal(engine_statedir(&d, "/s/.cratis", "staging", "demo", "Service/web"), CRATIS_OK);
	assert_string_equal(d, "/s/.cratis/run/staging/demo/Service-web");
	free(d);
	static const char *const bad[][3] = { { "..", "demo", "Service/web" }, { ".", "demo", "Service/web" },
	                                      { "staging", "..", "Service/web" }, { "staging", "a/b", "Service/web" },
	                                      { "staging", "", "Service/web" }, { "staging", "demo", "Service/../../x" },
	                                      { "a/../..", "demo", "Service/web" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = (char *)"unset";
		assert_int_equal(engine_statedir(&d, "/s/.cratis", bad[i][0], bad[i][1], bad[i][2]), CRATIS_EINVAL);
		assert_null(d);
		assert_contains(cratis_error_last()->message, "cannot name a state directory: the path would leave /s/.cratis/run");
	}
}

/* Unified diff of lines: hunks with 3 lines of context, changes close together share a hunk,
 * far apart ones get their own, additions at the end and a start from nothing. */
static void test_plan_text_diff_hunks(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	plan_text_diff(&b, "a\nb\nc\n", "a\nB\nc\n");
	assert_string_equal(b.ptr, "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
	buf_clear(&b);
	plan_text_diff(&b, "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\nTWO\n3\n4\n5\n6\n7\n8\n9\n10\nELEVEN\n12\n");
	assert_string_equal(b.ptr, "@@ -1,5 +1,5 @@\n 1\n-2\n+TWO\n 3\n 4\n 5\n"
	                           "@@ -8,5 +8,5 @@\n 8\n 9\n 10\n-11\n+ELEVEN\n 12\n");
	buf_clear(&b);
	plan_text_diff(&b, "x\n", "x\ny\n");
	assert_string_equal(b.ptr, "@@ -1,1 +1,2 @@\n x\n+y\n");
	buf_clear(&b);
	plan_text_diff(&b, "", "new\n");
	assert_string_equal(b.ptr, "@@ -0,0 +1,1 @@\n+new\n");
	buf_clear(&b);
	plan_text_diff(&b, "same\n", "same\n");
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

/* Values: paths with dots and [i], added / removed / changed, secrets and unknown values. */
static void test_plan_values_diff_paths_and_forms(void **state)
{
	(void)state;
	json_t *a = json_loads("{\"port\":8080,\"env\":{\"OLD\":\"1\",\"K\":\"v\"},\"args\":[\"a\",\"b\"],"
	                       "\"pw\":\"(sensitive) hmac-sha256:00\",\"url\":\"http://x\",\"a.b\":1,\"text\":\"l1\\nl2\\n\"}", 0, NULL);
	json_t *b = json_loads("{\"port\":8081,\"env\":{\"NEW\":\"2\",\"K\":\"v\"},\"args\":[\"a\",\"c\",\"d\"],"
	                       "\"pw\":\"(sensitive) hmac-sha256:11\",\"url\":\"http://(known after apply)\",\"a.b\":2,"
	                       "\"text\":\"l1\\nL2\\n\"}", 0, NULL);
	assert_non_null(a);
	assert_non_null(b);
	struct value_diffs vd = VALUE_DIFFS_INIT;
	plan_values_diff(&vd, a, b, "spec");
	struct buf all = BUF_INIT;
	for (size_t i = 0; i < vd.n; i++)
		buf_addf(&all, "%d %s %s %s|", (int)vd.v[i].op, vd.v[i].path, vd.v[i].before ? vd.v[i].before : "-",
		         vd.v[i].after ? vd.v[i].after : "-");
	assert_string_equal(all.ptr, "2 spec[\"a.b\"] 1 2|"
	                             "2 spec.args[1] \"b\" \"c\"|0 spec.args[2] - \"d\"|"
	                             "0 spec.env.NEW - \"2\"|1 spec.env.OLD \"1\" -|"
	                             "2 spec.port 8080 8081|"
	                             "2 spec.pw (sensitive) (sensitive)|"
	                             "2 spec.text \"l1\\nl2\\n\" \"l1\\nL2\\n\"|"
	                             "2 spec.url \"http://x\" (known after apply)|");
	for (size_t i = 0; i < vd.n; i++)
		if (!strcmp(vd.v[i].path, "spec.text"))
			assert_string_equal(vd.v[i].lines, "@@ -1,2 +1,2 @@\n l1\n-l2\n+L2\n");
		else
			assert_null(vd.v[i].lines);
	buf_release(&all);
	value_diffs_release(&vd);
	json_decref(a);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_create_then_noop),
		cmocka_unit_test(test_engine_statedir_stays_under_run),
		cmocka_unit_test(test_plan_update_with_changed_fields),
		cmocka_unit_test(test_plan_recorded_spec_compared_by_value),
		cmocka_unit_test(test_plan_drift_is_an_update),
		cmocka_unit_test(test_plan_children_drift_and_destroy_order),
		cmocka_unit_test(test_plan_removed_resource_is_deleted),
		cmocka_unit_test(test_plan_cycle_is_reported_with_location),
		cmocka_unit_test(test_plan_validation_error_names_field),
		cmocka_unit_test(test_apply_failure_skips_dependents_and_records),
		cmocka_unit_test(test_plan_text_diff_hunks),
		cmocka_unit_test(test_plan_values_diff_paths_and_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
