/* Unit tests: manifest loading, model building, and every manifest error class with its
 * location and message. */
#include "helpers.h"

#include "manifest/manifest.h"
#include "model/model.h"

struct fake_calls fake_calls;

static const char core[] =
	"apiVersion: cratis/v1\nkind: System\nmetadata: {name: local}\nspec: {type: local}\n"
	"---\napiVersion: cratis/v1\nkind: System\nmetadata: {name: remote}\n"
	"---\napiVersion: cratis/v1\nkind: Environment\nmetadata: {name: staging}\n"
	"spec:\n  systems: [local]\n  variables: {port: 8081, name: web}\n"
	"---\napiVersion: cratis/v1\nkind: Environment\nmetadata: {name: production}\n"
	"spec:\n  systems: [remote]\n"
	"---\napiVersion: cratis/v1\nkind: Project\nmetadata: {name: hello}\n";

struct fixture {
	char *dir;
	struct manifest_set ms;
	struct registry reg;
	struct model m;
	char *errors;
	int rc;
};

/* Load core + text (as one file "m.yaml" after core.yaml) and build for env. */
static void build(struct fixture *f, const char *text, const char *env)
{
	memset(f, 0, sizeof(*f));
	f->dir = tmp_dir();
	free(write_file(f->dir, "a-core.yaml", core));
	free(write_file(f->dir, "m.yaml", text));
	manifest_set_init(&f->ms);
	registry_init(&f->reg);
	fake_register(&f->reg);
	model_init(&f->m);
	f->rc = manifest_load_path(&f->ms, f->dir);
	if (!f->rc)
		f->rc = model_build(&f->m, &f->ms, &f->reg, env);
	f->errors = joined(f->ms.errors.n ? &f->ms.errors : &f->m.errors);
}

static void release(struct fixture *f)
{
	free(f->errors);
	model_release(&f->m);
	manifest_set_release(&f->ms);
	registry_release(&f->reg);
	tmp_cleanup(f->dir);
}

static void test_manifest_loads_resources_and_variables(void **state)
{
	(void)state;
	struct fixture f;
	build(&f, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\n"
	          "spec: {system: local, port: \"${port}\", url: \"http://${name}:${port}/\", quoted: \"0644\"}\n"
	          "---\napiVersion: fake/v2\nkind: Thing\nmetadata: {name: b}\n"
	          "spec: {system: local, dependsOn: [Thing/a], from: \"${Thing/a.outputs.url}\"}\n", "staging");
	assert_int_equal(f.rc, 0);
	assert_int_equal(f.m.nresources, 2);
	struct resource *a = model_find(&f.m, "hello", "Thing/a");
	assert_non_null(a);
	/* a whole-string reference keeps the variable's type; embedded ones become text */
	assert_int_equal(json_integer_value(json_object_get(a->spec, "port")), 8081);
	assert_string_equal(json_string_value(json_object_get(a->spec, "url")), "http://web:8081/");
	assert_string_equal(json_string_value(json_object_get(a->spec, "quoted")), "0644");
	struct resource *b = model_find(&f.m, "hello", "Thing/b");
	assert_int_equal(b->deps.n, 1);
	assert_string_equal(b->deps.v[0], "Thing/a");
	/* dependsOn is the host's; the plugin does not see it */
	assert_null(json_object_get(b->spec, "dependsOn"));
	/* output references stay for apply time */
	assert_string_equal(json_string_value(json_object_get(b->spec, "from")), "${Thing/a.outputs.url}");
	release(&f);
}

static void test_manifest_error_invalid_yaml(void **state)
{
	(void)state;
	struct fixture f;
	build(&f, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a\nspec: {}\n", "staging");
	assert_int_equal(f.rc, CRATIS_EINVAL);
	assert_contains(f.errors, "/m.yaml:");
	assert_contains(f.errors, "invalid YAML");
	release(&f);
}

static void test_manifest_error_unknown_kind(void **state)
{
	(void)state;
	struct fixture f;
	build(&f, "apiVersion: acme/v1\nkind: Widget\nmetadata: {name: a}\nspec: {system: local}\n", "staging");
	assert_int_equal(f.rc, CRATIS_EINVAL);
	assert_contains(f.errors, "/m.yaml:2:7: kind: unknown kind 'Widget' in group 'acme'");
	assert_contains(f.errors, "plugin kinds loaded: fake/v1 Thing, fake/v2 Thing");
	release(&f);
}

static void test_manifest_error_unsupported_version(void **state)
{
	(void)state;
	struct fixture f;
	build(&f, "apiVersion: fake/v3\nkind: Thing\nmetadata: {name: a}\nspec: {system: local}\n", "staging");
	assert_contains(f.errors, "/m.yaml:1:13: apiVersion: version 'v3' of Thing is not supported by plugin 'fake' (supported: fake/v1, fake/v2)");
	release(&f);
}

static void test_manifest_error_missing_field(void **state)
{
	(void)state;
	struct fixture f;
	build(&f, "apiVersion: fake/v1\nkind: Thing\nmetadata:\n  labels: {}\nspec: {system: local}\n", "staging");
	assert_contains(f.errors, "/m.yaml:3:1: metadata.name: missing field, expected a string (the resource name)");
	release(&f);
}

static void test_manifest_error_wrong_type(void **state)
{
	(void)state;
	struct fixture f;
	build(&f, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec:\n  system: local\n  dependsOn: Thing/b\n", "staging");
	assert_contains(f.errors, "/m.yaml:6:14: spec.dependsOn: expected a sequence of strings (Kind/name references), got a string");
	release(&f);
}

static void test_manifest_error_duplicate(void **state)
{
	(void)state;
	struct fixture f;
	build(&f, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {system: local}\n"
	          "---\napiVersion: fake/v2\nkind: Thing\nmetadata: {name: a}\nspec: {system: local}\n", "staging");
	assert_contains(f.errors, "/m.yaml:8:18: metadata.name: duplicate Thing/a in project 'hello' (first defined at ");
	assert_contains(f.errors, "/m.yaml:3:18)");
	release(&f);
}

static void test_manifest_error_unknown_reference(void **state)
{
	(void)state;
	struct fixture f;
	build(&f, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec:\n  system: local\n  dependsOn: [Thing/nope]\n", "staging");
	assert_contains(f.errors, "/m.yaml:6:15: spec.dependsOn[0]: unknown reference 'Thing/nope' (no such resource in project 'hello')");
	release(&f);
}

static void test_manifest_error_scope_violation(void **state)
{
	(void)state;
	struct fixture f;
	build(&f, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {system: remote}\n", "staging");
	assert_contains(f.errors, "/m.yaml:4:16: spec.system: scope violation: system 'remote' is not in environment 'staging' (its systems: local)");
	release(&f);
}

static void test_manifest_error_unknown_variable(void **state)
{
	(void)state;
	struct fixture f;
	build(&f, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec:\n  system: local\n  x: \"${nope}\"\n", "staging");
	assert_contains(f.errors, "/m.yaml:6:7: spec.x: unknown variable 'nope' (defined: port, name)");
	release(&f);
}

static void test_manifest_error_env_variable(void **state)
{
	(void)state;
	struct fixture f;
	unsetenv("CRATIS_TEST_UNSET");
	setenv("CRATIS_TEST_SET", "yes", 1);
	build(&f, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec:\n  system: local\n"
	          "  a: \"${env:CRATIS_TEST_SET}\"\n  b: \"${env:CRATIS_TEST_UNSET:-dflt}\"\n  c: \"${env:CRATIS_TEST_UNSET}\"\n", "staging");
	assert_contains(f.errors, "/m.yaml:8:7: spec.c: environment variable 'CRATIS_TEST_UNSET' is not set");
	release(&f);
	build(&f, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec:\n  system: local\n"
	          "  a: \"${env:CRATIS_TEST_SET}\"\n  b: \"${env:CRATIS_TEST_UNSET:-dflt}\"\n", "staging");
	assert_int_equal(f.rc, 0);
	struct resource *a = model_find(&f.m, "hello", "Thing/a");
	assert_string_equal(json_string_value(json_object_get(a->spec, "a")), "yes");
	assert_string_equal(json_string_value(json_object_get(a->spec, "b")), "dflt");
	release(&f);
}

static void test_manifest_error_environment_choice(void **state)
{
	(void)state;
	struct fixture f;
	build(&f, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {system: local}\n", NULL);
	assert_contains(f.errors, "--env: several environments are defined (staging, production); choose one with --env NAME");
	release(&f);
	build(&f, "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {system: local}\n", "qa");
	assert_contains(f.errors, "--env: unknown environment 'qa' (defined: staging, production)");
	release(&f);
}

static void test_manifest_error_not_a_mapping(void **state)
{
	(void)state;
	struct fixture f;
	build(&f, "- just\n- a list\n", "staging");
	assert_contains(f.errors, "/m.yaml:1:3: expected a mapping with apiVersion, kind, metadata and spec, got a sequence");
	release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_loads_resources_and_variables),
		cmocka_unit_test(test_manifest_error_invalid_yaml),
		cmocka_unit_test(test_manifest_error_unknown_kind),
		cmocka_unit_test(test_manifest_error_unsupported_version),
		cmocka_unit_test(test_manifest_error_missing_field),
		cmocka_unit_test(test_manifest_error_wrong_type),
		cmocka_unit_test(test_manifest_error_duplicate),
		cmocka_unit_test(test_manifest_error_unknown_reference),
		cmocka_unit_test(test_manifest_error_scope_violation),
		cmocka_unit_test(test_manifest_error_unknown_variable),
		cmocka_unit_test(test_manifest_error_env_variable),
		cmocka_unit_test(test_manifest_error_environment_choice),
		cmocka_unit_test(test_manifest_error_not_a_mapping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
