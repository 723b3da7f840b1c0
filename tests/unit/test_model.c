/* Unit tests: the model is pure (building never changes the manifests: build twice -> equal
 * models, the process environment read afresh, overrides of one build absent from the next),
 * aliases reach resource specs, the registry routes by group, kind and version, and the
 * defects of issue 9 in the model (no System defined, environment values that are not UTF-8). */
#include "helpers.h"

#include "manifest/manifest.h"
#include "model/model.h"

struct fake_calls fake_calls;

static const char core[] =
	"apiVersion: cratis/v1\nkind: System\nmetadata: {name: local}\n"
	"---\napiVersion: cratis/v1\nkind: Environment\nmetadata: {name: staging}\n"
	"spec:\n  systems: [local]\n  variables: {greeting: \"${env:CRATIS_TEST_GREETING}\", port: 8081}\n"
	"---\napiVersion: cratis/v1\nkind: Project\nmetadata: {name: hello}\n"
	"---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\n"
	"spec:\n  msg: \"${greeting} on ${port}\"\n  port: \"${port}\"\n  home: \"${env:CRATIS_TEST_GREETING}\"\n"
	"---\napiVersion: fake/v2\nkind: Thing\nmetadata: {name: b}\n"
	"spec: {dependsOn: [Thing/a], from: \"${Thing/a.outputs.url}\", escaped: \"$${literal}\"}\n";

/* Register plugin name serving group/kind at versions (NULL-terminated) with the fake ops. */
static void add_plugin(struct registry *r, const char *name, const char *group, const char *kind,
                       const char *const *versions)
{
	static const struct cratis_ops ops = { sizeof(struct cratis_ops), fake_validate, NULL, fake_apply, fake_destroy, fake_observe };
	const struct cratis_handler h = { sizeof(struct cratis_handler), group, kind, versions, &ops, NULL, NULL };
	struct plugin *p = xcalloc(1, sizeof(*p));
	p->name = xstrdup(name);
	p->version = xstrdup("1.0.0");
	p->path = xstrdup("(in-process)");
	ALLOC_GROW(r->plugins, r->nplugins + 1, r->aplugins);
	r->plugins[r->nplugins++] = p;
	struct diags errors = DIAGS_INIT;
	assert_int_equal(registry_add_handler(r, p, &h, &errors), 0);
	diags_release(&errors);
}

struct world {
	struct manifest_set ms;
	struct registry reg;
};

static void world_init(struct world *w, const char *text)
{
	manifest_set_init(&w->ms);
	registry_init(&w->reg);
	fake_register(&w->reg);
	static const char *const v1[] = { "v1", NULL };
	add_plugin(&w->reg, "exec", "exec", "Task", v1);
	int rc = manifest_load_buffer(&w->ms, "m.yaml", text, strlen(text));
	if (rc) {
		char *e = joined(&w->ms.errors);
		fail_msg("load failed: %s", e);
	}
}

static void world_release(struct world *w)
{
	manifest_set_release(&w->ms);
	registry_release(&w->reg);
}

static void build_ok(struct model *m, struct world *w)
{
	if (model_build(m, &w->ms, &w->reg, "staging")) {
		char *e = joined(&m->errors);
		fail_msg("build failed: %s", e);
	}
}

/* Every document of ms as one JSON array (a snapshot to compare with later). */
static json_t *snapshot(const struct manifest_set *ms)
{
	json_t *a = json_array();
	for (size_t i = 0; i < ms->n; i++)
		json_array_append_new(a, json_deep_copy(ms->docs[i]->root));
	return a;
}

static const char *spec_str(const struct model *m, const char *id, const char *field)
{
	struct resource *r = model_find(m, "hello", id);
	assert_non_null(r);
	return json_string_value(json_object_get(r->spec, field));
}

static void assert_models_equal(const struct model *a, const struct model *b)
{
	assert_int_equal(a->nresources, b->nresources);
	for (size_t i = 0; i < a->nresources; i++) {
		const struct resource *x = a->resources[i], *y = b->resources[i];
		assert_string_equal(x->key, y->key);
		assert_string_equal(x->api_version, y->api_version);
		assert_ptr_equal(x->handler, y->handler);
		assert_true(json_equal(x->spec, y->spec));
		assert_int_equal(x->deps.n, y->deps.n);
		for (size_t k = 0; k < x->deps.n; k++)
			assert_string_equal(x->deps.v[k], y->deps.v[k]);
		assert_int_equal(x->pending_vars, y->pending_vars);
	}
	assert_int_equal(a->nenvs, b->nenvs);
	assert_string_equal(a->env_name, b->env_name);
	assert_true(json_equal(a->env->variables, b->env->variables));
}

static void test_model_build_twice_equal(void **state)
{
	(void)state;
	setenv("CRATIS_TEST_GREETING", "hi", 1);
	struct world w;
	world_init(&w, core);
	json_t *before = snapshot(&w.ms);
	struct model a, b;
	model_init(&a);
	model_init(&b);
	build_ok(&a, &w);
	/* the manifests are exactly as loaded: nothing was expanded into them */
	json_t *after = snapshot(&w.ms);
	assert_true(json_equal(before, after));
	build_ok(&b, &w);
	assert_models_equal(&a, &b);
	assert_string_equal(spec_str(&a, "Thing/a", "msg"), "hi on 8081");
	assert_string_equal(spec_str(&a, "Thing/b", "escaped"), "$${literal}");
	/* building again into the same model replaces what it held */
	build_ok(&a, &w);
	assert_models_equal(&a, &b);
	json_t *again = snapshot(&w.ms);
	assert_true(json_equal(before, again));
	json_decref(before);
	json_decref(after);
	json_decref(again);
	model_release(&a);
	model_release(&b);
	world_release(&w);
}

static void test_model_env_change_seen(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, core);
	struct model m;
	model_init(&m);
	setenv("CRATIS_TEST_GREETING", "one", 1);
	build_ok(&m, &w);
	assert_string_equal(spec_str(&m, "Thing/a", "msg"), "one on 8081");
	assert_string_equal(json_string_value(json_object_get(m.env->variables, "greeting")), "one");
	setenv("CRATIS_TEST_GREETING", "two", 1);
	build_ok(&m, &w);
	assert_string_equal(spec_str(&m, "Thing/a", "msg"), "two on 8081");
	assert_string_equal(spec_str(&m, "Thing/a", "home"), "two");
	assert_string_equal(json_string_value(json_object_get(m.env->variables, "greeting")), "two");
	/* and a fresh model sees it too */
	struct model f;
	model_init(&f);
	setenv("CRATIS_TEST_GREETING", "three", 1);
	build_ok(&f, &w);
	assert_string_equal(spec_str(&f, "Thing/a", "msg"), "three on 8081");
	model_release(&f);
	model_release(&m);
	world_release(&w);
}

static void test_model_overrides_do_not_leak(void **state)
{
	(void)state;
	setenv("CRATIS_TEST_GREETING", "hi", 1);
	struct world w;
	world_init(&w, core);
	json_t *ov = json_pack("{s:s,s:i}", "greeting", "promoted", "port", 9090);
	struct model p;
	model_init(&p);
	p.overrides = ov;
	build_ok(&p, &w);
	assert_string_equal(spec_str(&p, "Thing/a", "msg"), "promoted on 9090");
	/* a later build without overrides, in a fresh model ... */
	struct model m;
	model_init(&m);
	build_ok(&m, &w);
	assert_string_equal(spec_str(&m, "Thing/a", "msg"), "hi on 8081");
	assert_int_equal(json_integer_value(json_object_get(model_find(&m, "hello", "Thing/a")->spec, "port")), 8081);
	/* ... or in the same one */
	p.overrides = NULL;
	build_ok(&p, &w);
	assert_string_equal(spec_str(&p, "Thing/a", "msg"), "hi on 8081");
	assert_null(json_object_get(ov, "extra"));
	json_decref(ov);
	model_release(&p);
	model_release(&m);
	world_release(&w);
}

static void test_model_alias_reaches_task_argv(void **state)
{
	(void)state;
	setenv("CRATIS_TEST_GREETING", "hi", 1);
	struct world w;
	world_init(&w, "apiVersion: cratis/v1\nkind: Environment\nmetadata: {name: staging}\n"
	               "spec: {variables: {root: /tmp/x}}\n"
	               "---\napiVersion: exec/v1\nkind: Task\nmetadata: {name: t, project: hello}\n"
	               "spec:\n  check: &mk [mkdir, -p, \"${root}\"]\n  apply: *mk\n"
	               "  env: &env {A: \"1\", B: \"2\"}\n  more:\n    <<: *env\n    B: \"3\"\n");
	struct model m;
	model_init(&m);
	build_ok(&m, &w);
	struct resource *r = model_find(&m, "hello", "Task/t");
	assert_non_null(r);
	char *argv = json_dumps(json_object_get(r->spec, "apply"), JSON_COMPACT);
	assert_string_equal(argv, "[\"mkdir\",\"-p\",\"/tmp/x\"]");
	free(argv);
	char *more = json_dumps(json_object_get(r->spec, "more"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(more, "{\"A\":\"1\",\"B\":\"3\"}");
	free(more);
	assert_string_equal(r->handler->plugin->name, "exec");
	model_release(&m);
	world_release(&w);
}

static void test_model_registry_routes_by_version(void **state)
{
	(void)state;
	struct registry reg;
	registry_init(&reg);
	static const char *const v1[] = { "v1", NULL }, *const v2[] = { "v2", NULL };
	add_plugin(&reg, "alpha", "demo", "Widget", v1);
	add_plugin(&reg, "beta", "demo", "Widget", v2);
	assert_string_equal(registry_find(&reg, "demo", "Widget", "v1")->plugin->name, "alpha");
	assert_string_equal(registry_find(&reg, "demo", "Widget", "v2")->plugin->name, "beta");
	assert_null(registry_find(&reg, "demo", "Widget", "v3"));
	assert_null(registry_find(&reg, "demo", "Gadget", "v1"));
	assert_null(registry_find(&reg, "other", "Widget", "v1"));
	assert_string_equal(registry_find(&reg, "demo", "Widget", NULL)->plugin->name, "alpha");

	/* the model sends each resource to the plugin of its version */
	struct manifest_set ms;
	manifest_set_init(&ms);
	const char *text = "apiVersion: demo/v2\nkind: Widget\nmetadata: {name: new}\n"
	                   "---\napiVersion: demo/v1\nkind: Widget\nmetadata: {name: old}\n";
	assert_int_equal(manifest_load_buffer(&ms, "w.yaml", text, strlen(text)), 0);
	struct model m;
	model_init(&m);
	assert_int_equal(model_build(&m, &ms, &reg, NULL), 0);
	assert_string_equal(model_find(&m, "default", "Widget/new")->handler->plugin->name, "beta");
	assert_string_equal(model_find(&m, "default", "Widget/old")->handler->plugin->name, "alpha");
	model_release(&m);
	manifest_set_release(&ms);

	/* an unknown version names every plugin of the kind and what they serve */
	manifest_set_init(&ms);
	text = "apiVersion: demo/v3\nkind: Widget\nmetadata: {name: w}\n";
	assert_int_equal(manifest_load_buffer(&ms, "w.yaml", text, strlen(text)), 0);
	model_init(&m);
	assert_int_equal(model_build(&m, &ms, &reg, NULL), CRATIS_EINVAL);
	char *e = joined(&m.errors);
	assert_contains(e, "w.yaml:1:13: apiVersion: version 'v3' of Widget is not supported by plugins 'alpha', 'beta' (supported: demo/v1, demo/v2)");
	free(e);
	model_release(&m);
	manifest_set_release(&ms);
	registry_release(&reg);
}

static void test_model_system_when_none_defined(void **state)
{
	(void)state;
	struct manifest_set ms;
	manifest_set_init(&ms);
	struct registry reg;
	registry_init(&reg);
	fake_register(&reg);
	const char *text = "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {system: nowhere}\n";
	assert_int_equal(manifest_load_buffer(&ms, "m.yaml", text, strlen(text)), 0);
	struct model m;
	model_init(&m);
	assert_int_equal(model_build(&m, &ms, &reg, NULL), CRATIS_EINVAL);
	char *e = joined(&m.errors);
	assert_contains(e, "m.yaml:4:16: spec.system: unknown system 'nowhere' (defined: none)");
	free(e);
	model_release(&m);
	manifest_set_release(&ms);
	registry_release(&reg);
}

static void test_model_env_value_not_utf8(void **state)
{
	(void)state;
	setenv("CRATIS_TEST_GREETING", "caf\xe9!", 1);
	struct world w;
	world_init(&w, core);
	struct model m;
	model_init(&m);
	assert_int_equal(model_build(&m, &w.ms, &w.reg, "staging"), CRATIS_EINVAL);
	char *e = joined(&m.errors);
	assert_contains(e, "m.yaml:10:26: spec.variables.greeting: environment variable 'CRATIS_TEST_GREETING' is not valid UTF-8: \"caf\\xe9!\"");
	assert_null(strstr(e, "(null)"));
	free(e);
	model_release(&m);
	world_release(&w);
	setenv("CRATIS_TEST_GREETING", "hi", 1);
}

/* Build text (with the fake and exec plugins) for env; the joined errors into *errs (caller frees). */
static int build_text(const char *text, const char *env, char **errs)
{
	struct world w;
	world_init(&w, text);
	struct model m;
	model_init(&m);
	int rc = model_build(&m, &w.ms, &w.reg, env);
	*errs = joined(&m.errors);
	model_release(&m);
	world_release(&w);
	return rc;
}

/* Names are DNS-1123 labels (issue 9, item 5): metadata.name of every kind and metadata.project,
 * checked even when no Project document exists. */
static void test_model_names_dns1123(void **state)
{
	(void)state;
	static const char *const bad[] = { "..", ".", "Web", "a_b", "a.b", "-a", "a-", "a/b", "a;b", "x\\ny",
	                                   "a123456789a123456789a123456789a123456789a123456789a123456789abcd" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *want = xasprintf("invalid name '%s': expected a DNS-1123 label", bad[i]);   /* "x\\ny" shows as typed */
		/* a resource name */
		char *text = xasprintf("apiVersion: fake/v1\nkind: Thing\nmetadata: {name: \"%s\"}\n", bad[i]);
		char *e;
		assert_int_equal(build_text(text, NULL, &e), CRATIS_EINVAL);
		assert_contains(e, "m.yaml:3:19: metadata.name: ");
		assert_contains(e, want);
		free(e);
		free(text);
		/* metadata.project with no Project document */
		text = xasprintf("apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a, project: \"%s\"}\n", bad[i]);
		assert_int_equal(build_text(text, NULL, &e), CRATIS_EINVAL);
		assert_contains(e, "metadata.project: ");
		assert_contains(e, want);
		free(e);
		free(text);
		/* an Environment and a Project */
		text = xasprintf("apiVersion: cratis/v1\nkind: Environment\nmetadata: {name: \"%s\"}\n---\n"
		                 "apiVersion: cratis/v1\nkind: Project\nmetadata: {name: \"%s\"}\n", bad[i], bad[i]);
		assert_int_equal(build_text(text, NULL, &e), CRATIS_EINVAL);
		assert_contains(e, "m.yaml:3:19: metadata.name: ");
		assert_contains(e, "m.yaml:7:19: metadata.name: ");
		free(e);
		free(text);
		free(want);
	}
	static const char *const good[] = { "a", "0", "web-1", "0-x", "a123456789a123456789a123456789a123456789a123456789a123456789abc" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char *text = xasprintf("apiVersion: cratis/v1\nkind: Project\nmetadata: {name: \"%s\"}\n---\n"
		                       "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: \"%s\", project: \"%s\"}\n", good[i], good[i], good[i]);
		char *e;
		int rc = build_text(text, NULL, &e);
		if (rc)
			fail_msg("'%s' refused: %s", good[i], e);
		free(e);
		free(text);
	}
}

static const char two_envs[] =
	"apiVersion: cratis/v1\nkind: System\nmetadata: {name: local}\n"
	"---\napiVersion: cratis/v1\nkind: System\nmetadata: {name: remote}\nspec: {type: ssh}\n"
	"---\napiVersion: cratis/v1\nkind: Environment\nmetadata: {name: staging}\nspec: {systems: [local]}\n"
	"---\napiVersion: cratis/v1\nkind: Environment\nmetadata: {name: production}\nspec: {systems: [remote]}\n"
	"---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {system: local}\n";

/* A System type nothing implements is an error naming the available types (issue 9, item 7),
 * for the Systems the selected environment reaches only. */
static void test_model_system_type(void **state)
{
	(void)state;
	char *e;
	int rc = build_text(two_envs, "staging", &e);
	if (rc)
		fail_msg("staging refused for production's System: %s", e);
	free(e);
	assert_int_equal(build_text(two_envs, "production", &e), CRATIS_EINVAL);
	assert_contains(e, "m.yaml:8:14: spec.type: unknown system type 'ssh' of System/remote: no plugin implements it (available: local)");
	free(e);
	/* no Environment: every System is reachable */
	const char *lone = "apiVersion: cratis/v1\nkind: System\nmetadata: {name: box}\nspec: {type: kubernetes}\n"
	                   "---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\n";
	assert_int_equal(build_text(lone, NULL, &e), CRATIS_EINVAL);
	assert_contains(e, "m.yaml:4:14: spec.type: unknown system type 'kubernetes' of System/box: no plugin implements it (available: local)");
	free(e);
	const char *local = "apiVersion: cratis/v1\nkind: System\nmetadata: {name: box}\nspec: {type: local}\n"
	                    "---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\n";
	assert_int_equal(build_text(local, NULL, &e), 0);
	free(e);
}

/* Two environments with their own System, for metadata.environments and `system: ${system}`. */
static const char per_env[] =
	"apiVersion: cratis/v1\nkind: System\nmetadata: {name: box-a}\n"
	"---\napiVersion: cratis/v1\nkind: System\nmetadata: {name: box-b}\n"
	"---\napiVersion: cratis/v1\nkind: Environment\nmetadata: {name: staging}\n"
	"spec: {systems: [box-a], variables: {system: box-a, pw: {value: x, sensitive: true}}}\n"
	"---\napiVersion: cratis/v1\nkind: Environment\nmetadata: {name: production}\n"
	"spec: {systems: [box-b], variables: {system: box-b}}\n"
	"---\napiVersion: cratis/v1\nkind: Project\nmetadata: {name: hello}\n"
	"spec:\n  outputs:\n    a: \"${Thing/a.outputs.url}\"\n    b: {value: \"${Thing/only.outputs.x}\", sensitive: true, description: d}\n"
	"---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {system: \"${system}\"}\n"
	"---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: only, environments: [staging]}\nspec: {system: \"${system}\"}\n";

/* metadata.environments keeps a resource out of the other environments; system: ${system} is
 * resolved per environment (issue 10). */
static void test_model_environments_and_system_variable(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, per_env);
	struct model m;
	model_init(&m);
	if (model_build(&m, &w.ms, &w.reg, "staging"))
		fail_msg("staging: %s", joined(&m.errors));
	assert_int_equal(m.nresources, 2);
	assert_string_equal(model_find(&m, "hello", "Thing/a")->system, "box-a");
	assert_non_null(model_find(&m, "hello", "Thing/only"));
	assert_int_equal(m.elsewhere.n, 0);
	assert_non_null(m.projects[0].outputs);
	if (model_build(&m, &w.ms, &w.reg, "production"))
		fail_msg("production: %s", joined(&m.errors));
	assert_int_equal(m.nresources, 1);
	assert_string_equal(model_find(&m, "hello", "Thing/a")->system, "box-b");
	assert_null(model_find(&m, "hello", "Thing/only"));
	assert_int_equal(m.elsewhere.n, 1);
	assert_string_equal(m.elsewhere.v[0], "hello:Thing/only");
	model_release(&m);
	/* the environments without building: names, systems, variable names only */
	json_t *envs = model_environments(&w.ms);
	assert_int_equal(json_array_size(envs), 2);
	char *t = json_dumps(envs, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(t, "[{\"name\":\"staging\",\"sensitive\":[\"pw\"],\"systems\":[\"box-a\"],\"variables\":[\"system\",\"pw\"]},"
	                       "{\"name\":\"production\",\"sensitive\":[],\"systems\":[\"box-b\"],\"variables\":[\"system\"]}]");
	free(t);
	json_decref(envs);
	world_release(&w);
}

static void test_model_environments_errors(void **state)
{
	(void)state;
	char *e;
	char *text = xstrdup(per_env);
	char *at = strstr(text, "environments: [staging]");
	memcpy(at, "environments: [stagin] ", strlen("environments: [stagin] "));
	assert_int_equal(build_text(text, "staging", &e), CRATIS_EINVAL);
	assert_contains(e, "metadata.environments[0]: unknown environment 'stagin' (defined: staging, production)");
	assert_contains(e, "did you mean 'staging'?");
	free(e);
	free(text);
	/* a system variable naming a System the environment does not list is a scope violation */
	text = xasprintf("%s", per_env);
	at = strstr(text, "variables: {system: box-b}");
	memcpy(at, "variables: {system: box-a}", strlen("variables: {system: box-a}"));
	assert_int_equal(build_text(text, "production", &e), CRATIS_EINVAL);
	assert_contains(e, "spec.system: scope violation: system 'box-a' is not in environment 'production'");
	free(e);
	free(text);
	/* an output reference as a system is refused */
	const char *ref = "apiVersion: cratis/v1\nkind: System\nmetadata: {name: local}\n"
	                  "---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {system: \"${Thing/b.outputs.x}\"}\n";
	assert_int_equal(build_text(ref, NULL, &e), CRATIS_EINVAL);
	assert_contains(e, "spec.system: expected the name of a System");
	free(e);
}

/* Project spec.outputs: shapes, names and references are checked at their location. */
static void test_model_outputs_checked(void **state)
{
	(void)state;
	const char *text = "apiVersion: cratis/v1\nkind: System\nmetadata: {name: local}\n"
	                   "---\napiVersion: cratis/v1\nkind: Project\nmetadata: {name: hello}\n"
	                   "spec:\n  outputs:\n"
	                   "    ok: \"${Thing/a.outputs.url}\"\n"
	                   "    typo: {value: \"${Thing/aa.outputs.url}\"}\n"
	                   "    \"9lives\": x\n"
	                   "    novalue: {description: d}\n"
	                   "    badsens: {value: x, sensitive: \"yes\"}\n"
	                   "    list: [a]\n"
	                   "---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\n";
	char *e;
	assert_int_equal(build_text(text, NULL, &e), CRATIS_EINVAL);
	assert_contains(e, "spec.outputs.typo.value: unknown reference 'Thing/aa' (no such resource in project 'hello')");
	assert_contains(e, "did you mean 'Thing/a'?");
	assert_contains(e, "invalid output name '9lives'");
	assert_contains(e, "spec.outputs.novalue: missing field 'value'");
	assert_contains(e, "spec.outputs.badsens.sensitive: expected true or false");
	assert_contains(e, "spec.outputs.list: expected a string expression");
	assert_null(strstr(e, "spec.outputs.ok"));
	free(e);
	assert_true(model_name_valid("web-1"));
	assert_false(model_name_valid("Web"));
	static const char *const c[] = { "staging", "production" };
	assert_string_equal(model_suggest("prodution", c, 2), "production");
	assert_null(model_suggest("qa", c, 2));
	/* the one did-you-mean of cratis: case, transpositions, prefixes, NULL entries, no evidence */
	static const char *const k[] = { NULL, "Service", "Task", "destroy", "b" };
	assert_string_equal(model_suggest("Servce", k, 5), "Service");
	assert_string_equal(model_suggest("tsak", k, 5), "Task");
	assert_string_equal(model_suggest("dest", k, 5), "destroy");
	assert_null(model_suggest("a", k, 5));
	assert_null(model_suggest("", k, 5));
	assert_null(model_suggest("Service", k, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_build_twice_equal),
		cmocka_unit_test(test_model_env_change_seen),
		cmocka_unit_test(test_model_overrides_do_not_leak),
		cmocka_unit_test(test_model_alias_reaches_task_argv),
		cmocka_unit_test(test_model_registry_routes_by_version),
		cmocka_unit_test(test_model_system_when_none_defined),
		cmocka_unit_test(test_model_env_value_not_utf8),
		cmocka_unit_test(test_model_names_dns1123),
		cmocka_unit_test(test_model_system_type),
		cmocka_unit_test(test_model_environments_and_system_variable),
		cmocka_unit_test(test_model_environments_errors),
		cmocka_unit_test(test_model_outputs_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
