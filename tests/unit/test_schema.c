/* Unit tests: strict fields (issue 9 item 1). Each example of the issue (helth, dependson,
 * outputz, Environment sytems / variable, metadata.environment) is refused at its location with
 * a "did you mean" hint; a kind whose plugin declares no schema keeps accepting any spec field;
 * a handler of an older ABI (smaller struct) has no schema; malformed tables are refused. */
#include "helpers.h"

#include "manifest/manifest.h"
#include "model/model.h"
#include "model/schema.h"

struct fake_calls fake_calls;

static const char *const v1[] = { "v1", NULL };
static const struct cratis_ops ops = { sizeof(struct cratis_ops), fake_validate, NULL, fake_apply, fake_destroy, fake_observe };

/* the tables of plugins/exec and plugins/service, as they declare them */
static const struct cratis_field task_fields[] = {
	{ sizeof(struct cratis_field), "spec.apply", "argv", "run on create and update", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.env.*", "string", NULL, NULL, 0 },
	{ sizeof(struct cratis_field), "spec.outputs", "array", NULL, NULL, 0 },
	{ 0 },
};
static const struct cratis_field service_fields[] = {
	{ sizeof(struct cratis_field), "spec.command", "argv", NULL, NULL, 0 },
	{ sizeof(struct cratis_field), "spec.health.http", "string", NULL, NULL, 0 },
	{ sizeof(struct cratis_field), "spec.health.tcp", "string", NULL, NULL, 0 },
	{ 0 },
};

static int add(struct registry *r, const char *group, const char *kind, const struct cratis_field *fields,
               uint32_t size, struct diags *errors)
{
	const struct cratis_handler h = { size, group, kind, v1, &ops, NULL, fields };
	struct plugin *p = xcalloc(1, sizeof(*p));
	p->name = xstrdup(group);
	p->version = xstrdup("1.0.0");
	p->path = xstrdup("(in-process)");
	ALLOC_GROW(r->plugins, r->nplugins + 1, r->aplugins);
	r->plugins[r->nplugins++] = p;
	return registry_add_handler(r, p, &h, errors);
}

struct world {
	struct manifest_set ms;
	struct registry reg;
	struct model m;
};

static const char base[] =
	"apiVersion: cratis/v1\nkind: System\nmetadata: {name: local}\n"
	"---\napiVersion: cratis/v1\nkind: Environment\nmetadata: {name: staging}\nspec: {systems: [local]}\n"
	"---\napiVersion: exec/v1\nkind: Task\nmetadata: {name: build}\nspec: {apply: [true]}\n---\n";

/* Build base + text; returns the model's status. */
static int build(struct world *w, const char *text)
{
	manifest_set_init(&w->ms);
	registry_init(&w->reg);
	model_init(&w->m);
	struct diags errors = DIAGS_INIT;
	assert_int_equal(add(&w->reg, "exec", "Task", task_fields, sizeof(struct cratis_handler), &errors), 0);
	assert_int_equal(add(&w->reg, "service", "Service", service_fields, sizeof(struct cratis_handler), &errors), 0);
	/* an ABI 1.2 handler: its struct ends before fields (whatever follows is not read) */
	assert_int_equal(add(&w->reg, "old", "Old", service_fields, offsetof(struct cratis_handler, fields), &errors), 0);
	assert_int_equal(add(&w->reg, "loose", "Loose", NULL, sizeof(struct cratis_handler), &errors), 0);
	/* the built-in Rollout handler (its table is the core one of src/model/schema.c) */
	assert_int_equal(add(&w->reg, "cratis", "Rollout", NULL, sizeof(struct cratis_handler), &errors), 0);
	diags_release(&errors);
	char *all = xasprintf("%s%s", base, text);
	assert_int_equal(manifest_load_buffer(&w->ms, "m.yaml", all, strlen(all)), 0);
	free(all);
	int rc = model_build(&w->m, &w->ms, &w->reg, "staging");
	for (size_t i = 0; i < w->m.errors.n; i++)  /* shown when a test fails */
		print_message("# %d:%d: %s: %s\n", w->m.errors.v[i].line, w->m.errors.v[i].column,
		              w->m.errors.v[i].field ? w->m.errors.v[i].field : "", w->m.errors.v[i].message);
	return rc;
}

static void release(struct world *w)
{
	model_release(&w->m);
	registry_release(&w->reg);
	manifest_set_release(&w->ms);
}

/* The one error of w is at line:col of field with message and hint. */
static void expect_one(struct world *w, int line, int col, const char *field, const char *message, const char *hint)
{
	if (w->m.errors.n != 1)
		fail_msg("expected one error, got %zu: %s", w->m.errors.n, w->m.errors.n ? w->m.errors.v[0].message : "");
	const struct diag *d = &w->m.errors.v[0];
	assert_int_equal(d->status, CRATIS_EINVAL);
	assert_string_equal(d->file, "m.yaml");
	assert_int_equal(d->line, line);
	assert_int_equal(d->column, col);
	assert_string_equal(d->field, field);
	assert_string_equal(d->message, message);
	assert_non_null(d->hint);
	assert_string_equal(d->hint, hint);
}

static void test_schema_helth(void **state)
{
	(void)state;
	struct world w;
	assert_int_equal(build(&w, "apiVersion: service/v1\nkind: Service\nmetadata: {name: web}\n"
	                           "spec:\n  command: [sleep, '1']\n  helth:\n    http: http://127.0.0.1:1/\n"),
	                 CRATIS_EINVAL);
	expect_one(&w, 20, 3, "spec.helth", "unknown field 'helth' of Service (service/v1)", "did you mean 'health'?");
	release(&w);
}

static void test_schema_dependson(void **state)
{
	(void)state;
	struct world w;
	assert_int_equal(build(&w, "apiVersion: exec/v1\nkind: Task\nmetadata: {name: t}\n"
	                           "spec:\n  apply: [true]\n  dependson: [Task/build]\n"),
	                 CRATIS_EINVAL);
	expect_one(&w, 20, 3, "spec.dependson", "unknown field 'dependson' of Task (exec/v1)", "did you mean 'dependsOn'?");
	release(&w);
}

static void test_schema_outputz(void **state)
{
	(void)state;
	struct world w;
	assert_int_equal(build(&w, "apiVersion: exec/v1\nkind: Task\nmetadata: {name: t}\n"
	                           "spec:\n  apply: [true]\n  outputz: [x]\n"),
	                 CRATIS_EINVAL);
	expect_one(&w, 20, 3, "spec.outputz", "unknown field 'outputz' of Task (exec/v1)", "did you mean 'outputs'?");
	release(&w);
}

static void test_schema_environment_sytems(void **state)
{
	(void)state;
	struct world w;
	assert_int_equal(build(&w, "apiVersion: cratis/v1\nkind: Environment\nmetadata: {name: qa}\nspec:\n  sytems: [local]\n"),
	                 CRATIS_EINVAL);
	expect_one(&w, 19, 3, "spec.sytems", "unknown field 'sytems' of Environment (cratis/v1)", "did you mean 'systems'?");
	release(&w);
}

static void test_schema_environment_variable(void **state)
{
	(void)state;
	struct world w;
	assert_int_equal(build(&w, "apiVersion: cratis/v1\nkind: Environment\nmetadata: {name: qa}\nspec:\n  variable: {a: b}\n"),
	                 CRATIS_EINVAL);
	expect_one(&w, 19, 3, "spec.variable", "unknown field 'variable' of Environment (cratis/v1)", "did you mean 'variables'?");
	release(&w);
}

static void test_schema_metadata_environment(void **state)
{
	(void)state;
	struct world w;
	assert_int_equal(build(&w, "apiVersion: exec/v1\nkind: Task\nmetadata:\n  name: t\n  environment:\n    - staging\n"
	                           "spec: {apply: [true]}\n"),
	                 CRATIS_EINVAL);
	expect_one(&w, 19, 3, "metadata.environment", "unknown field 'environment' of Task (exec/v1)",
	           "did you mean 'environments'?"); /* metadata.environments exists since issue 10 */
	release(&w);
}

/* wildcards, sequence items, free-form mappings, common fields: a valid document passes */
static void test_schema_known_fields_pass(void **state)
{
	(void)state;
	struct world w;
	assert_int_equal(build(&w, "apiVersion: exec/v1\nkind: Task\nmetadata: {name: t, labels: {any: thing}}\n"
	                           "spec:\n  system: local\n  dependsOn: [Task/build]\n  apply: [true]\n"
	                           "  env: {A: b, C.D: e}\n  outputs: [x]\n"
	                           "---\napiVersion: cratis/v1\nkind: Project\nmetadata: {name: p}\n"
	                           "spec:\n  versioning:\n    model: trunk\n    branches:\n      - {pattern: main, form: stable}\n"
	                           "---\napiVersion: cratis/v1\nkind: Rollout\nmetadata: {name: r}\n"
	                           "spec:\n  activePort: 1\n  previewPort: 2\n  template: {command: [x], env: {ANY: 1}, health: {path: /}}\n"
	                           "  hooks: {exitTests: [{run: [true], retries: 1}, {task: Task/t}]}\n"),
	                 CRATIS_OK);
	release(&w);
}

/* a kind whose plugin declares no schema, and an ABI 1.2 handler: any spec field, as before;
 * the envelope stays strict */
static void test_schema_no_schema_keeps_behaviour(void **state)
{
	(void)state;
	struct world w;
	assert_int_equal(build(&w, "apiVersion: loose/v1\nkind: Loose\nmetadata: {name: a}\nspec: {helth: 1, x: {y: z}}\n"
	                           "---\napiVersion: old/v1\nkind: Old\nmetadata: {name: b}\nspec: {helth: 1}\n"),
	                 CRATIS_OK);
	assert_false(registry_find(&w.reg, "loose", "Loose", "v1")->has_schema);
	assert_false(registry_find(&w.reg, "old", "Old", "v1")->has_schema);
	assert_true(registry_find(&w.reg, "exec", "Task", "v1")->has_schema);
	release(&w);
	assert_int_equal(build(&w, "apiVersion: loose/v1\nkind: Loose\nmetadata: {name: a}\nspek: {}\n"), CRATIS_EINVAL);
	expect_one(&w, 18, 1, "spek", "unknown field 'spek' of Loose (loose/v1)", "did you mean 'spec'?");
	release(&w);
}

/* nested and sequence item paths are located with their index */
static void test_schema_nested_located(void **state)
{
	(void)state;
	struct world w;
	assert_int_equal(build(&w, "apiVersion: cratis/v1\nkind: Rollout\nmetadata: {name: r}\n"
	                           "spec:\n  activePort: 1\n  previewPort: 2\n  template: {command: [x]}\n"
	                           "  hooks:\n    exitTests:\n      - run: [true]\n      - run: [true]\n        retrys: 2\n"),
	                 CRATIS_EINVAL);
	expect_one(&w, 26, 17, "spec.hooks.exitTests[1].retrys", "unknown field 'retrys' of Rollout (cratis/v1)",
	           "did you mean 'retries'?");
	release(&w);
}

static void test_schema_malformed_table(void **state)
{
	(void)state;
	static const struct cratis_field bad_type[] = { { sizeof(struct cratis_field), "spec.a", "str", NULL, NULL, 0 }, { 0 } };
	static const struct cratis_field no_size[] = { { 0, "spec.a", "string", NULL, NULL, 0 }, { 0 } };
	struct registry r;
	registry_init(&r);
	struct diags errors = DIAGS_INIT;
	assert_int_equal(add(&r, "a", "A", bad_type, sizeof(struct cratis_handler), &errors), CRATIS_EINVAL);
	assert_int_equal(add(&r, "b", "B", no_size, sizeof(struct cratis_handler), &errors), CRATIS_EINVAL);
	assert_int_equal(errors.n, 2);
	assert_non_null(strstr(errors.v[0].message, "malformed field 'spec.a'"));
	assert_null(registry_find(&r, "a", "A", "v1"));
	diags_release(&errors);
	registry_release(&r);
}

static void test_schema_distance(void **state)
{
	(void)state;
	assert_int_equal(schema_distance("helth", "health", 2), 1);
	assert_int_equal(schema_distance("dependson", "dependsOn", 2), 0);  /* case-insensitive */
	assert_int_equal(schema_distance("hlaeth", "health", 2), 2);        /* one transposition + one edit */
	assert_int_equal(schema_distance("ab", "ba", 2), 1);                /* a transposition costs 1 */
	assert_int_equal(schema_distance("environment", "name", 2), 3);     /* capped */
	assert_int_equal(schema_distance("", "", 2), 0);
}

/* A plugin built before default_value and required were appended: its rows are shorter and
 * still load, with no default and not required; a newer row carries both. */
static void test_schema_field_rows_old_and_new(void **state)
{
	(void)state;
	struct old_field {
		uint32_t size;
		const char *path, *type, *help;
	};
	static const struct old_field old[] = {
		{ sizeof(struct old_field), "spec.a", "string", "an old row" },
		{ 0, NULL, NULL, NULL },
	};
	static const struct cratis_field now[] = {
		{ sizeof(struct cratis_field), "spec.mode", "string", "octal mode", "0644", 0 },
		{ sizeof(struct cratis_field), "spec.path", "string", "the file", NULL, 1 },
		{ 0 },
	};
	struct registry r;
	registry_init(&r);
	struct diags errors = DIAGS_INIT;
	assert_int_equal(add(&r, "old", "Old", (const struct cratis_field *)(const void *)old, sizeof(struct cratis_handler), &errors), CRATIS_OK);
	assert_int_equal(add(&r, "file", "File", now, sizeof(struct cratis_handler), &errors), CRATIS_OK);
	assert_int_equal(errors.n, 0);
	const struct handler *h = registry_find(&r, "old", "Old", "v1");
	assert_int_equal(h->nfields, 1);
	assert_null(h->fields[0].def);
	assert_false(h->fields[0].required);
	h = registry_find(&r, "file", "File", "v1");
	assert_string_equal(h->fields[0].def, "0644");
	assert_false(h->fields[0].required);
	assert_null(h->fields[1].def);
	assert_true(h->fields[1].required);

	/* explain: the kind's rows, one field, unknown kind and field with hints */
	json_t *doc = NULL;
	assert_int_equal(schema_explain(&doc, &r, "File", &errors), CRATIS_OK);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "File");
	json_t *fields = json_object_get(doc, "fields");
	bool saw_mode = false;
	for (size_t i = 0; i < json_array_size(fields); i++) {
		json_t *f = json_array_get(fields, i);
		if (!strcmp(json_string_value(json_object_get(f, "path")), "spec.mode")) {
			saw_mode = true;
			assert_string_equal(json_string_value(json_object_get(f, "default")), "0644");
		}
	}
	assert_true(saw_mode);
	json_decref(doc);
	assert_int_equal(schema_explain(&doc, &r, "file.path", &errors), CRATIS_OK); /* case, spec. added */
	json_t *f = json_object_get(doc, "field");
	assert_string_equal(json_string_value(json_object_get(f, "path")), "spec.path");
	assert_true(json_is_true(json_object_get(f, "required")));
	json_decref(doc);
	assert_int_equal(schema_explain(&doc, &r, "Fiel", &errors), CRATIS_ENOTFOUND);
	assert_null(doc);
	assert_string_equal(errors.v[0].hint, "did you mean 'File'?");
	assert_int_equal(schema_explain(&doc, &r, "File.spec.mdoe", &errors), CRATIS_ENOTFOUND);
	assert_string_equal(errors.v[1].hint, "did you mean 'spec.mode'?");
	assert_int_equal(schema_explain(&doc, &r, "Environment.spec.variables", &errors), CRATIS_OK);
	json_decref(doc);
	json_t *kinds = schema_kinds(&r);
	assert_int_equal(json_array_size(kinds), 5); /* System, Environment, Project, Old, File */
	json_decref(kinds);
	diags_release(&errors);
	registry_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_helth),
		cmocka_unit_test(test_schema_dependson),
		cmocka_unit_test(test_schema_outputz),
		cmocka_unit_test(test_schema_environment_sytems),
		cmocka_unit_test(test_schema_environment_variable),
		cmocka_unit_test(test_schema_metadata_environment),
		cmocka_unit_test(test_schema_known_fields_pass),
		cmocka_unit_test(test_schema_no_schema_keeps_behaviour),
		cmocka_unit_test(test_schema_nested_located),
		cmocka_unit_test(test_schema_malformed_table),
		cmocka_unit_test(test_schema_distance),
		cmocka_unit_test(test_schema_field_rows_old_and_new),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
