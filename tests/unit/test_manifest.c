/* Unit tests: manifest loading, model building, and every manifest error class with its
 * location and message. */
#include "helpers.h"

#include <sys/stat.h>

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
	/* with a manifest beside it in the file: a directory walk skips a file none of whose
	 * documents has apiVersion and kind (test_manifest_walk_skips_non_manifests) */
	build(&f, "- just\n- a list\n---\napiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {system: local}\n",
	      "staging");
	assert_contains(f.errors, "/m.yaml:1:3: expected a mapping with apiVersion, kind, metadata and spec, got a sequence");
	release(&f);
}

/* A walk passes over YAML that is not a manifest, with a note; named as a file it is an error. */
static void test_manifest_walk_skips_non_manifests(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	free(write_file(dir, "docker-compose.yml", "services:\n  web: {image: nginx}\n"));
	free(write_file(dir, "m.yaml", "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\n"));
	struct manifest_set ms;
	manifest_set_init(&ms);
	assert_int_equal(manifest_load_path(&ms, dir), CRATIS_OK);
	assert_int_equal(ms.n, 1);
	assert_int_equal(ms.files.n, 1);
	assert_int_equal(ms.notes.n, 1);
	assert_non_null(strstr(ms.notes.v[0].file, "docker-compose.yml"));
	assert_non_null(strstr(ms.notes.v[0].message, "no document has apiVersion and kind"));
	manifest_set_release(&ms);
	manifest_set_init(&ms);
	char *file = xasprintf("%s/docker-compose.yml", dir);
	assert_int_equal(manifest_load_path(&ms, file), CRATIS_OK); /* loaded: the model refuses it */
	assert_int_equal(ms.n, 1);
	assert_int_equal(ms.notes.n, 0);
	free(file);
	manifest_set_release(&ms);
	tmp_cleanup(dir);
}

/* Load text as a buffer called "buf.yaml"; the first document's root (borrowed from ms). */
static json_t *load_buf(struct manifest_set *ms, const char *text, int *rc, char **errors)
{
	manifest_set_init(ms);
	*rc = manifest_load_buffer(ms, "buf.yaml", text, strlen(text));
	*errors = joined(&ms->errors);
	return ms->n ? ms->docs[0]->root : NULL;
}

static void test_manifest_core_schema_scalars(void **state)
{
	(void)state;
	/* YAML 1.2.2 section 10.3.2: the text of "v: TEXT" -> the JSON it must become */
	static const struct { const char *yaml, *json; } table[] = {
		{ "0644", "644" }, { "0o17", "15" }, { "0x1F", "31" }, { "0x1f", "31" }, { "42", "42" },
		{ "-7", "-7" }, { "+5", "5" }, { "0", "0" }, { "00", "0" }, { "9223372036854775807", "9223372036854775807" },
		{ "1.5", "1.5" }, { "-2.5e3", "-2500.0" }, { ".5", "0.5" }, { "5.", "5.0" }, { "1e3", "1000.0" },
		{ "true", "true" }, { "True", "true" }, { "TRUE", "true" }, { "false", "false" }, { "False", "false" },
		{ "FALSE", "false" }, { "null", "null" }, { "Null", "null" }, { "NULL", "null" }, { "~", "null" }, { "", "null" },
		/* not in the core schema: text */
		{ "yes", "\"yes\"" }, { "on", "\"on\"" }, { "tRUE", "\"tRUE\"" }, { "0b101", "\"0b101\"" }, { "1_000", "\"1_000\"" },
		{ "-0x1F", "\"-0x1F\"" }, { "0o18", "\"0o18\"" }, { "1.2.3", "\"1.2.3\"" }, { "v1", "\"v1\"" }, { "+", "\"+\"" }, { "-x", "\"-x\"" },
		{ ".", "\".\"" }, { "0x", "\"0x\"" }, { "1e", "\"1e\"" }, { "nULL", "\"nULL\"" },
		/* quoted and block scalars are always strings */
		{ "\"0644\"", "\"0644\"" }, { "'true'", "\"true\"" }, { "\"null\"", "\"null\"" }, { "'0x1F'", "\"0x1F\"" },
		{ "|\n  42\n", "\"42\\n\"" },
		/* tags */
		{ "!!str 0644", "\"0644\"" }, { "!!str true", "\"true\"" }, { "!!int \"12\"", "12" }, { "!!int 0o17", "15" },
		{ "!!float 1", "1.0" }, { "!!float \"2.5\"", "2.5" }, { "!!bool \"True\"", "true" }, { "!!null ''", "null" },
		{ "! 12", "\"12\"" }, { "!local 12", "\"12\"" },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		char *text = xasprintf("v: %s\n", table[i].yaml);
		struct manifest_set ms;
		int rc;
		char *errors;
		json_t *root = load_buf(&ms, text, &rc, &errors);
		if (rc || !root)
			fail_msg("'%s': rc %d, errors: %s", table[i].yaml, rc, errors);
		char *got = json_dumps(json_object_get(root, "v"), JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
		if (strcmp(got, table[i].json))
			fail_msg("'%s': expected %s, got %s", table[i].yaml, table[i].json, got);
		free(got);
		free(errors);
		free(text);
		manifest_set_release(&ms);
	}
}

static void test_manifest_core_schema_errors(void **state)
{
	(void)state;
	static const struct { const char *yaml, *error; } table[] = {
		{ "v: .inf\n", "buf.yaml:1:4: '.inf' is a YAML float that JSON cannot represent; quote it for text" },
		{ "v: -.Inf\n", "buf.yaml:1:4: '-.Inf' is a YAML float that JSON cannot represent" },
		{ "v: .nan\n", "buf.yaml:1:4: '.nan' is a YAML float that JSON cannot represent" },
		{ "v: 99999999999999999999\n", "buf.yaml:1:4: number '99999999999999999999' is out of range" },
		{ "v: 0xFFFFFFFFFFFFFFFFF\n", "buf.yaml:1:4: number '0xFFFFFFFFFFFFFFFFF' is out of range" },
		{ "a: 1\nv: !!int twelve\n", "buf.yaml:2:10: 'twelve' is not an integer (tag !!int)" },
		{ "v: !!bool yes\n", "buf.yaml:1:11: 'yes' is not a boolean (tag !!bool)" },
		{ "v: !!float x\n", "buf.yaml:1:12: 'x' is not a number (tag !!float)" },
		{ "v: !!null 0\n", "buf.yaml:1:11: '0' is not null (tag !!null)" },
		{ "v: !!map 1\n", "buf.yaml:1:10: a scalar cannot have the tag !!map" },
		{ "v: !!seq {a: 1}\n", "a mapping cannot have the tag !!seq" },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct manifest_set ms;
		int rc;
		char *errors;
		load_buf(&ms, table[i].yaml, &rc, &errors);
		assert_int_equal(rc, CRATIS_EINVAL);
		assert_contains(errors, table[i].error);
		free(errors);
		manifest_set_release(&ms);
	}
}

static void test_manifest_aliases_and_merge_keys(void **state)
{
	(void)state;
	struct manifest_set ms;
	int rc;
	char *errors;
	json_t *root = load_buf(&ms,
		"base: &base {image: web, port: 80, env: {A: \"1\"}}\n"
		"args: &args [run, --fast]\n"
		"copy: *args\n"
		"one: &one x\n"
		"scalar: *one\n"
		"merged:\n"
		"  <<: *base\n"
		"  port: 8080\n"
		"multi:\n"
		"  <<: [*base, {image: other, extra: true}]\n"
		"inline:\n"
		"  <<: {a: 1}\n"
		"  b: 2\n"
		"again: &one y\n"
		"latest: *one\n", &rc, &errors);
	assert_int_equal(rc, 0);
	assert_string_equal(errors, "");
	char *got = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(got,
		"{\"again\":\"y\",\"args\":[\"run\",\"--fast\"],\"base\":{\"env\":{\"A\":\"1\"},\"image\":\"web\",\"port\":80},"
		"\"copy\":[\"run\",\"--fast\"],\"inline\":{\"a\":1,\"b\":2},\"latest\":\"y\","
		"\"merged\":{\"env\":{\"A\":\"1\"},\"image\":\"web\",\"port\":8080},"
		"\"multi\":{\"env\":{\"A\":\"1\"},\"extra\":true,\"image\":\"web\",\"port\":80},\"one\":\"x\",\"scalar\":\"x\"}");
	free(got);
	/* the copies are separate values: changing one leaves the anchor alone */
	assert_ptr_not_equal(json_object_get(root, "copy"), json_object_get(root, "args"));
	/* positions: an alias's copy is where the alias is; merged members where they were written */
	const struct manifest_doc *d = ms.docs[0];
	struct loc l;
	manifest_locate(d, "scalar", &l);
	assert_int_equal(l.line, 5);
	assert_int_equal(l.col, 9);
	manifest_locate(d, "copy", &l);
	assert_int_equal(l.line, 3);
	assert_int_equal(l.col, 1);
	manifest_locate(d, "copy[1]", &l);
	assert_int_equal(l.line, 2);
	assert_int_equal(l.col, 19);
	manifest_locate(d, "merged.port", &l);
	assert_int_equal(l.line, 8);
	assert_int_equal(l.col, 9);
	manifest_locate(d, "merged.image", &l);
	assert_int_equal(l.line, 1);
	assert_int_equal(l.col, 21);
	manifest_locate(d, "merged.env.A", &l);
	assert_int_equal(l.line, 1);
	assert_int_equal(l.col, 46); /* inside the quotes, as libfyaml marks quoted scalars */
	manifest_locate(d, "merged.nothing.here", &l);
	assert_int_equal(l.line, 6);
	assert_int_equal(l.col, 1);
	manifest_locate(d, "inline.b", &l);
	assert_int_equal(l.line, 13);
	assert_int_equal(l.col, 6);
	manifest_locate(d, "latest", &l);
	assert_int_equal(l.line, 15);
	free(errors);
	manifest_set_release(&ms);
}

static void test_manifest_alias_errors(void **state)
{
	(void)state;
	static const struct { const char *yaml, *error; } table[] = {
		{ "a: 1\nb: *nope\n", "buf.yaml:2:4: undefined alias '*nope'" },
		/* an alias names an anchor defined before it, never one inside itself or after it */
		{ "a: &x [1, *x]\n", "buf.yaml:1:11: undefined alias '*x'" },
		{ "a: *later\nb: &later 1\n", "buf.yaml:1:4: undefined alias '*later'" },
		{ "a: {<<: 5}\n", "buf.yaml:1:9: merge key '<<': expected a mapping" },
		{ "s: &s [1]\na: {<<: [*s]}\n", "merge key '<<': expected a mapping or an alias of one in the sequence" },
		{ "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		  "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
		  "aliases expand to more than 100000 nodes" },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct manifest_set ms;
		int rc;
		char *errors;
		load_buf(&ms, table[i].yaml, &rc, &errors);
		assert_int_equal(rc, CRATIS_EINVAL);
		assert_contains(errors, table[i].error);
		free(errors);
		manifest_set_release(&ms);
	}
}

static void test_manifest_buffer_names_its_errors(void **state)
{
	(void)state;
	struct manifest_set ms;
	manifest_set_init(&ms);
	/* not NUL-terminated: only len bytes are read */
	const char text[] = "apiVersion: fake/v1\nkind: Thing\nmetadata: {name: a}\nspec: {system: [1]}\nTRAILING GARBAGE: [";
	assert_int_equal(manifest_load_buffer(&ms, "request body", text, strlen(text) - strlen("TRAILING GARBAGE: [")), 0);
	assert_int_equal(ms.n, 1);
	assert_string_equal(ms.docs[0]->file, "request body");
	struct registry reg;
	registry_init(&reg);
	fake_register(&reg);
	struct model m;
	model_init(&m);
	assert_int_equal(model_build(&m, &ms, &reg, NULL), CRATIS_EINVAL);
	char *errors = joined(&m.errors);
	assert_contains(errors, "request body:4:8: spec.system: expected a string (the name of a System), got a sequence");
	free(errors);
	model_release(&m);
	/* a syntax error in a buffer names it too */
	assert_int_equal(manifest_load_buffer(&ms, "inline.yaml", "a: [1,\n", 7), CRATIS_EINVAL);
	errors = joined(&ms.errors);
	assert_contains(errors, "inline.yaml:");
	assert_contains(errors, "invalid YAML");
	free(errors);
	registry_release(&reg);
	manifest_set_release(&ms);
}

/* -f DIR with symbolic links back to itself: every real directory is walked once, so the
 * documents load once, with no duplicate errors and no endless walk (issue 9, item 9). */
static void test_manifest_dir_symlink_loop(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	free(write_file(dir, "m.yaml", "apiVersion: cratis/v1\nkind: System\nmetadata: {name: local}\n"));
	char *sub = xasprintf("%s/sub", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	free(write_file(sub, "n.yaml", "apiVersion: cratis/v1\nkind: System\nmetadata: {name: other}\n"));
	char *l1 = xasprintf("%s/loop", dir), *l2 = xasprintf("%s/back", sub), *l3 = xasprintf("%s/again.yaml", dir);
	assert_int_equal(symlink(".", l1), 0);  /* dir/loop -> dir */
	assert_int_equal(symlink("..", l2), 0); /* dir/sub/back -> dir */
	char *target = xasprintf("%s/m.yaml", dir);
	assert_int_equal(symlink(target, l3), 0); /* the same file under a second name */
	struct manifest_set ms;
	manifest_set_init(&ms);
	assert_int_equal(manifest_load_path(&ms, dir), CRATIS_OK);
	assert_int_equal(ms.errors.n, 0);
	assert_int_equal(ms.n, 2);
	manifest_set_release(&ms);
	free(target);
	free(l1);
	free(l2);
	free(l3);
	free(sub);
	tmp_cleanup(dir);
}

/* ---- issue 9 item 2: no input crashes, hangs or takes more than linear time ---- */

/* Load text (len bytes) as one manifest file and build the model, locating every error: what
 * `cratis plan -f FILE` does with it. Returns the errors (caller frees); *rc the first failure. */
static char *plan_file(const char *text, size_t len, int *rc)
{
	char *dir = tmp_dir();
	char *path = xasprintf("%s/m.yaml", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	struct manifest_set ms;
	struct registry reg;
	struct model m;
	manifest_set_init(&ms);
	registry_init(&reg);
	fake_register(&reg);
	model_init(&m);
	*rc = manifest_load_path(&ms, path);
	if (!*rc)
		*rc = model_build(&m, &ms, &reg, NULL);
	char *errors = joined(ms.errors.n ? &ms.errors : &m.errors);
	model_release(&m);
	registry_release(&reg);
	manifest_set_release(&ms);
	free(path);
	tmp_cleanup(dir);
	return errors;
}

static void test_manifest_five_byte_crash(void **state)
{
	(void)state;
	/* empty nodes where a position is looked for: the first item of a sequence, the key of a
	 * mapping; locating the error used to recurse between a node and its parent for ever */
	static const char *const inputs[] = { "-\n- a", "- \n-\n", ": a\n\n", "? \n: a", "-\n-\n-" };
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		int rc;
		char *errors = plan_file(inputs[i], 5, &rc);
		assert_int_equal(rc, CRATIS_EINVAL);
		assert_contains(errors, "m.yaml:1:");
		free(errors);
	}
}

static void test_manifest_empty_and_anchored_empty_nodes(void **state)
{
	(void)state;
	/* valid YAML: a sequence whose last entry is empty, a tag with no value, an anchor on an
	 * empty node (and its alias), each the value of v */
	static const struct { const char *yaml, *json; } table[] = {
		{ "v:\n  - a\n  -\n", "[\"a\", null]" },
		{ "- a\n-\n", NULL },
		/* libfyaml 0.7.12 refuses a non-indented sequence with an empty entry under a key
		 * ("did not find expected node content"): an error, never a crash */
		{ "v:\n- a\n-\n", "" },
		{ "v:\n- !!str\n", "[\"\"]" },
		{ "v: !!str\n", "\"\"" },
		{ "v: &a\nw: *a\n", "null" },
		{ "v:\n- &a\n- *a\n", "[null, null]" },
		{ "v: [&a , *a]\n", "[null, null]" },
		{ "v: {&a : x}\n", "{\"\": \"x\"}" },
		{ "v: !!null\n", "null" },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct manifest_set ms;
		int rc;
		char *errors;
		json_t *root = load_buf(&ms, table[i].yaml, &rc, &errors);
		if (table[i].json && !*table[i].json) {
			assert_int_equal(rc, CRATIS_EINVAL);
			assert_contains(errors, "buf.yaml:");
			free(errors);
			manifest_set_release(&ms);
			continue;
		}
		if (rc || !root)
			fail_msg("'%s': rc %d, errors: %s", table[i].yaml, rc, errors);
		json_t *v = table[i].json ? json_object_get(root, "v") : root;
		char *got = json_dumps(v, JSON_ENCODE_ANY);
		const char *want = table[i].json ? table[i].json : "[\"a\", null]";
		if (!got || strcmp(got, want))
			fail_msg("'%s': got %s, want %s", table[i].yaml, got ? got : "(none)", want);
		/* every node has a position: locating any field of the document works */
		struct loc l;
		manifest_locate(ms.docs[0], "v[1]", &l);
		assert_true(l.line >= 1);
		free(got);
		free(errors);
		manifest_set_release(&ms);
		/* and as a manifest: an error, not a crash */
		char *perr = plan_file(table[i].yaml, strlen(table[i].yaml), &rc);
		assert_int_equal(rc, CRATIS_EINVAL);
		free(perr);
	}
}

static void test_manifest_directive_invalid_utf8_no_hang(void **state)
{
	(void)state;
	/* libfyaml 0.7.12's directive scanner loops for ever on these; they never reach it */
	int rc;
	char *errors = plan_file("%\xff", 2, &rc);
	assert_int_equal(rc, CRATIS_EINVAL);
	assert_contains(errors, "m.yaml:1:2: invalid YAML: byte 0xff is not valid UTF-8");
	free(errors);
	struct manifest_set ms;
	manifest_set_init(&ms);
	assert_int_equal(manifest_load_buffer(&ms, "b.yaml", "a: 1\n%TAG ! \xc3(\n", 14), CRATIS_EINVAL);
	errors = joined(&ms.errors);
	assert_contains(errors, "b.yaml:2:8: invalid YAML: byte 0xc3 is not valid UTF-8");
	free(errors);
	manifest_set_release(&ms);
	/* every malformed UTF-8 form is refused: overlong, surrogate, above U+10FFFF, truncated */
	static const char *const bad[] = { "a: \xc0\xaf\n", "a: \xed\xa0\x80\n", "a: \xf4\x90\x80\x80\n", "a: \xe2\x82" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		manifest_set_init(&ms);
		assert_int_equal(manifest_load_buffer(&ms, "b.yaml", bad[i], strlen(bad[i])), CRATIS_EINVAL);
		errors = joined(&ms.errors);
		assert_contains(errors, "b.yaml:1:4: invalid YAML: byte 0x");
		free(errors);
		manifest_set_release(&ms);
	}
	/* valid UTF-8 of every length, a byte order mark included, still loads */
	manifest_set_init(&ms);
	const char ok[] = "\xef\xbb\xbf" "a: \"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"\n";
	assert_int_equal(manifest_load_buffer(&ms, "b.yaml", ok, strlen(ok)), CRATIS_OK);
	assert_string_equal(json_string_value(json_object_get(ms.docs[0]->root, "a")), "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	manifest_set_release(&ms);
}

static void test_manifest_directive_long_line_refused(void **state)
{
	(void)state;
	/* a '%' line costs libfyaml time quadratic in its length: longer than 1024 bytes, refused
	 * before it is scanned */
	size_t n = 80 * 1024;
	char *text = xmalloc(n + 1);
	text[0] = '%';
	memset(text + 1, 'a', n - 1);
	text[n] = '\0';
	int rc;
	char *errors = plan_file(text, n, &rc);
	assert_int_equal(rc, CRATIS_EINVAL);
	assert_contains(errors, "m.yaml:1:1: invalid YAML: a directive line longer than 1024 bytes");
	free(errors);
	/* a comment makes a well-formed directive just as long */
	memcpy(text, "%YAML 1.2 #", 11);
	errors = plan_file(text, n, &rc);
	assert_contains(errors, "m.yaml:1:1: invalid YAML: a directive line longer than 1024 bytes");
	free(errors);
	free(text);
}

static void test_manifest_directives(void **state)
{
	(void)state;
	/* YAML 1.2.2, 6.8: %YAML 1.1 or 1.2 and %TAG are read; any other '%' line is refused */
	static const struct { const char *yaml, *error; } table[] = {
		{ "%YAML 1.2\n---\nv: 1\n", NULL },
		{ "%YAML 1.1 # old\r\n%TAG !e! tag:example.com,2000:app/\r\n---\nv: !e!x 1\n", NULL },
		{ "\xef\xbb\xbf%TAG ! tag:x.org,2000:\n--- \nv: 1\n", NULL },
		{ "%FOO bar\n---\nv: 1\n", "buf.yaml:1:1: invalid YAML: unknown directive '%FOO'" },
		{ "%\n---\nv: 1\n", "buf.yaml:1:1: invalid YAML: unknown directive '%'" },
		{ "v: 1\n%RESERVED\n", "buf.yaml:2:1: invalid YAML: unknown directive '%RESERVED'" },
		{ "\xef\xbb\xbf%x\n", "buf.yaml:1:1: invalid YAML: unknown directive '%x'" },
		{ "%YAML 2.0\n---\nv: 1\n", "buf.yaml:1:7: invalid YAML: unsupported YAML version" },
		{ "%YAML 1.2.3\n", "buf.yaml:1:10: invalid YAML: unsupported YAML version" },
		{ "%YAML\n", "buf.yaml:1:6: invalid YAML: %YAML needs a version" },
		{ "%TAG !e tag:x\n", "buf.yaml:1:6: invalid YAML: a tag handle is !, !! or !name!" },
		{ "%TAG !e!\n", "invalid YAML: %TAG needs a handle and a prefix" },
		{ "%TAG !e! {x}\n", "buf.yaml:1:10: invalid YAML: a tag prefix cannot start with a flow indicator" },
		{ "%TAG !e! tag:x%zz\n", "buf.yaml:1:15: invalid YAML: a tag prefix holds only URI characters" },
		{ "%YAML 1.2 junk\n", "buf.yaml:1:11: invalid YAML: unexpected text after the directive's parameters" },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct manifest_set ms;
		int rc;
		char *errors;
		load_buf(&ms, table[i].yaml, &rc, &errors);
		if (!table[i].error) {
			if (rc || ms.n != 1)
				fail_msg("'%s': rc %d, errors: %s", table[i].yaml, rc, errors);
		} else {
			assert_int_equal(rc, CRATIS_EINVAL);
			assert_int_equal(ms.errors.n, 1);
			assert_contains(errors, table[i].error);
		}
		free(errors);
		manifest_set_release(&ms);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_dir_symlink_loop),
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
		cmocka_unit_test(test_manifest_walk_skips_non_manifests),
		cmocka_unit_test(test_manifest_core_schema_scalars),
		cmocka_unit_test(test_manifest_core_schema_errors),
		cmocka_unit_test(test_manifest_aliases_and_merge_keys),
		cmocka_unit_test(test_manifest_alias_errors),
		cmocka_unit_test(test_manifest_buffer_names_its_errors),
		cmocka_unit_test(test_manifest_five_byte_crash),
		cmocka_unit_test(test_manifest_empty_and_anchored_empty_nodes),
		cmocka_unit_test(test_manifest_directive_invalid_utf8_no_hang),
		cmocka_unit_test(test_manifest_directive_long_line_refused),
		cmocka_unit_test(test_manifest_directives),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
