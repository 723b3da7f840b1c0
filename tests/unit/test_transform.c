/* Unit tests: src/transform (rules loading and its diagnostics, byte-exact rewriting, errors). */
#include "helpers.h"

#include "transform/transform.h"

struct fake_calls fake_calls;

static struct transform_rules *storage_rules(void)
{
	struct transform_rules *r = transform_rules_new();
	struct diags d = DIAGS_INIT;
	char *path = xasprintf("%s/plugins/storage/transformations/rules.yaml", getenv("CRATIS_SOURCE_DIR"));
	assert_int_equal(transform_rules_load_file(r, path, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(transform_rules_count(r), 4);
	free(path);
	diags_release(&d);
	return r;
}

/* One rules text that must be refused with message `want` at line:col. */
static void refused(const char *yaml, int line, int col, const char *want)
{
	struct transform_rules *r = transform_rules_new();
	struct diags d = DIAGS_INIT;
	if (transform_rules_load_buffer(r, "rules.yaml", yaml, strlen(yaml), &d) != CRATIS_EINVAL || !d.n)
		fail_msg("accepted: %s", yaml);
	if (!strstr(d.v[0].message, want))
		fail_msg("'%s' does not contain '%s'", d.v[0].message, want);
	assert_string_equal(d.v[0].file, "rules.yaml");
	if (d.v[0].line != line || d.v[0].column != col)
		fail_msg("'%s' at %d:%d, expected %d:%d", d.v[0].message, d.v[0].line, d.v[0].column, line, col);
	assert_int_equal(transform_rules_count(r), 0);
	diags_release(&d);
	transform_rules_free(r);
}

static void test_transform_rules_refused(void **state)
{
	(void)state;
	refused("transformations:\n  infrar.x.op:\n    parameters: [a]\n    aws:\n      code_template: \"f({{ .b }})\"\n",
	        5, 23, "hole '{{ .b }}' names no parameter of infrar.x.op");
	refused("transformations:\n  infrar.x.op:\n    parameters: [a]\n    aws:\n      code_template: \"x = {{ .a }}\"\n",
	        5, 23, "expected one Python expression");
	refused("transformations:\n  infrar.x.op:\n    parameters: [a]\n    oracle: {code_template: \"f()\"}\n",
	        4, 5, "unknown field 'oracle'");
	refused("transformations:\n  infrar.x.op:\n    parameters: [a]\n    aws:\n      code_template: \"f({{ a }})\"\n",
	        5, 23, "expected a hole of the form");
	refused("transformations:\n  infrar.x.op:\n    parameters: [a]\n    aws:\n      code_template: \"f()\"\n      imports: [boto3]\n",
	        6, 17, "expected an import statement");
	refused("transformations:\n  infrar.x.op:\n    parameters: [a]\n    aws:\n      code_template: \"f()\"\n"
	        "      requirements: [{package: boto3, version: \"1.2\"}]\n", 6, 49, "expected a version specifier");
	refused("transformations:\n  infrar.x.op:\n    parameters: [{name: a, default: \"1\"}, b]\n", 3, 43,
	        "without a default follows one with a default");
	refused("transformations:\n  notinfrar.op: {}\n", 2, 3, "expected an operation name");
	refused("plugin: x\ntransformations: [\n", 3, 1, "not valid YAML");
}

static void test_transform_rules_twice(void **state)
{
	(void)state;
	struct transform_rules *r = storage_rules();
	struct diags d = DIAGS_INIT;
	const char *dup = "transformations:\n  infrar.storage.upload:\n    parameters: [a]\n";
	assert_int_equal(transform_rules_load_buffer(r, "other.yaml", dup, strlen(dup), &d), CRATIS_EINVAL);
	assert_non_null(strstr(d.v[0].message, "already defined"));
	assert_int_equal(transform_rules_count(r), 4);
	diags_release(&d);
	transform_rules_free(r);
}

/* A large file with one call in the middle: the output is the input with exactly that call's
 * bytes and the import line replaced, and the prelude inserted; every other byte identical. */
static void test_transform_bytes_outside_spans(void **state)
{
	(void)state;
	struct transform_rules *r = storage_rules();
	struct buf head = BUF_INIT, tail = BUF_INIT, src = BUF_INIT;
	for (int i = 0; i < 2000; i++)
		buf_addf(&head, "x%d = [  %d ,\t'infra'  ]  # comment %d\r\n", i, i, i);
	for (int i = 0; i < 2000; i++)
		buf_addf(&tail, "def f%d( a ):\n\treturn  a  # %d\n\n", i, i);
	const char *imp = "from infrar.storage import delete as rm\n";
	const char *call = "rm( 'b' ,\n   path = 'p' )";
	buf_adds(&src, imp);
	buf_add(&src, head.ptr, head.len);
	buf_adds(&src, call);
	buf_adds(&src, "\n");
	buf_add(&src, tail.ptr, tail.len);
	struct transform_output o;
	transform_output_init(&o);
	struct diags d = DIAGS_INIT;
	assert_int_equal(transform_source(&o, r, "aws", "big.py", src.ptr, src.len, &d), 0);
	assert_int_equal(d.n, 0);
	assert_true(o.changed);
	assert_int_equal(o.calls, 1);
	struct buf want = BUF_INIT;
	buf_adds(&want, "import os\nimport boto3\n\n_s3_client = boto3.client('s3', endpoint_url=os.environ.get('AWS_ENDPOINT_URL'))\n\n");
	buf_add(&want, head.ptr, head.len);
	buf_adds(&want, "_s3_client.delete_object(Bucket='b', Key='p')\n");
	buf_add(&want, tail.ptr, tail.len);
	assert_int_equal(o.text.len, want.len);
	assert_memory_equal(o.text.ptr, want.ptr, want.len);
	assert_int_equal(o.requirements.n, 1);
	assert_string_equal(o.requirements.v[0], "boto3>=1.26");
	/* and again: nothing changes */
	struct transform_output o2;
	transform_output_init(&o2);
	assert_int_equal(transform_source(&o2, r, "aws", "big.py", o.text.ptr, o.text.len, &d), 0);
	assert_false(o2.changed);
	assert_int_equal(o2.text.len, o.text.len);
	assert_memory_equal(o2.text.ptr, o.text.ptr, o.text.len);
	transform_output_release(&o2);
	transform_output_release(&o);
	buf_release(&want);
	buf_release(&src);
	buf_release(&head);
	buf_release(&tail);
	diags_release(&d);
	transform_rules_free(r);
}

/* An operation without a rule for the provider is an error at the call naming both. */
static void test_transform_no_rule_for_provider(void **state)
{
	(void)state;
	struct transform_rules *r = transform_rules_new();
	struct diags d = DIAGS_INIT;
	const char *y = "transformations:\n  infrar.cache.get:\n    parameters: [key]\n    aws: {code_template: \"c.get({{ .key }})\"}\n";
	assert_int_equal(transform_rules_load_buffer(r, "cache.yaml", y, strlen(y), &d), 0);
	const char *py = "from infrar.cache import get\n\nv = get('k')\n";
	struct transform_output o;
	transform_output_init(&o);
	assert_int_equal(transform_source(&o, r, "gcp", "app.py", py, strlen(py), &d), CRATIS_EINVAL);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, 3);
	assert_int_equal(d.v[0].column, 5);
	assert_non_null(strstr(d.v[0].message, "infrar.cache.get"));
	assert_non_null(strstr(d.v[0].message, "no rule for provider 'gcp'"));
	assert_int_equal(o.text.len, 0);
	diags_release(&d);
	/* a template that is not a primary is parenthesised where the call stood */
	const char *y2 = "transformations:\n  infrar.cache.size:\n    parameters: [a]\n    aws: {code_template: \"{{ .a }} + 1\"}\n";
	assert_int_equal(transform_rules_load_buffer(r, "cache2.yaml", y2, strlen(y2), &d), 0);
	const char *py2 = "import infrar.cache as c\nn = c.size(x or y) * 2\n";
	assert_int_equal(transform_source(&o, r, "aws", "app.py", py2, strlen(py2), &d), 0);
	assert_string_equal(o.text.ptr, "n = ((x or y) + 1) * 2\n");
	transform_output_release(&o);
	diags_release(&d);
	transform_rules_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transform_rules_refused),
		cmocka_unit_test(test_transform_rules_twice),
		cmocka_unit_test(test_transform_bytes_outside_spans),
		cmocka_unit_test(test_transform_no_rule_for_provider),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
