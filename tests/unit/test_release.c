/* Unit tests: version sources and branch policies. */
#include "helpers.h"

#include "manifest/manifest.h"
#include "release/policy.h"
#include "release/source.h"

struct fake_calls fake_calls;

static char *read_in(const char *files[][2], size_t n, const char *explicit_file, struct semver *v,
                     struct version_source *src, int *rc)
{
	char *dir = tmp_dir();
	for (size_t i = 0; i < n; i++)
		free(write_file(dir, files[i][0], files[i][1]));
	error_clear();
	*rc = version_read(dir, explicit_file, src, v);
	/* the message is copied before the clean-up can set another */
	char *err = *rc ? xstrdup(cratis_error_last()->message) : NULL;
	if (*rc)
		assert_int_equal(cratis_error_last()->status, *rc);
	tmp_cleanup(dir);
	return err;
}

static const char pom[] =
	"<?xml version=\"1.0\"?>\n"
	"<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n"
	"  <modelVersion>4.0.0</modelVersion>\n"
	"  <parent><groupId>g</groupId><artifactId>p</artifactId><version>9.9.9</version></parent>\n"
	"  <artifactId>app</artifactId>\n"
	"  <version>1.4.0-SNAPSHOT</version>\n"
	"  <dependencies><dependency><version>0.0.1</version></dependency></dependencies>\n"
	"</project>\n";

static void test_release_reads_pom_version_and_line(void **state)
{
	(void)state;
	const char *files[][2] = { { "pom.xml", pom }, { "package.json", "{\"version\":\"5.0.0\"}" } };
	struct semver v;
	struct version_source src;
	int rc;
	char *err = read_in(files, 2, NULL, &v, &src, &rc);
	assert_int_equal(rc, 0);
	assert_null(err);
	assert_true(ends_with(src.file, "/pom.xml"));
	assert_int_equal(src.line, 6);
	char *s = semver_format(&v);
	assert_string_equal(s, "1.4.0-SNAPSHOT");
	assert_true(semver_is_snapshot(&v));
	free(s);
	semver_release(&v);
	version_source_release(&src);
}

static void test_release_pom_parent_and_properties(void **state)
{
	(void)state;
	const char *parent[][2] = { { "pom.xml", "<project><parent>\n<version>2.0.1</version>\n</parent></project>" } };
	struct semver v;
	struct version_source src;
	int rc;
	char *err = read_in(parent, 1, NULL, &v, &src, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(v.major, 2);
	assert_int_equal(src.line, 2);
	semver_release(&v);
	version_source_release(&src);
	const char *prop[][2] = { { "pom.xml", "<project><properties><revision>3.1.0</revision></properties>\n<version>${revision}</version></project>" } };
	err = read_in(prop, 1, NULL, &v, &src, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(src.text, "3.1.0");
	semver_release(&v);
	version_source_release(&src);
	const char *missing[][2] = { { "pom.xml", "<project>\n<version>${revision}</version></project>" } };
	err = read_in(missing, 1, NULL, &v, &src, &rc);
	assert_int_equal(rc, CRATIS_EINVAL);
	assert_contains(err, "/pom.xml:2: version '${revision}' uses property '${revision}', which /project/properties does not define");
	free(err);
	const char *broken[][2] = { { "pom.xml", "<project>\n<version>1.0.0</version>\n" } };
	err = read_in(broken, 1, NULL, &v, &src, &rc);
	assert_int_equal(rc, CRATIS_EINVAL);
	assert_contains(err, "/pom.xml:3: not well-formed XML");
	free(err);
}

static void test_release_package_json_and_version_file(void **state)
{
	(void)state;
	const char *pkg[][2] = { { "package.json", "{\n  \"name\": \"x\",\n  \"dependencies\": {\"version\": \"9\"},\n  \"version\": \"0.3.1\"\n}\n" } };
	struct semver v;
	struct version_source src;
	int rc;
	char *err = read_in(pkg, 1, NULL, &v, &src, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(src.line, 4);
	assert_int_equal(v.minor, 3);
	semver_release(&v);
	version_source_release(&src);
	const char *plain[][2] = { { "VERSION", "\n  7.0.0-rc.1  \n" } };
	err = read_in(plain, 1, NULL, &v, &src, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(src.line, 2);
	assert_string_equal(v.prerelease, "rc.1");
	semver_release(&v);
	version_source_release(&src);
	const char *bad[][2] = { { "package.json", "{\"version\": \"1.2\"}" } };
	err = read_in(bad, 1, NULL, &v, &src, &rc);
	assert_int_equal(rc, CRATIS_EINVAL);
	assert_contains(err, "/package.json:1: version is not a semantic version: '1.2': expected MAJOR.MINOR.PATCH");
	free(err);
	const char *none[][2] = { { "README", "hi" } };
	err = read_in(none, 1, NULL, &v, &src, &rc);
	assert_int_equal(rc, CRATIS_ENOTFOUND);
	assert_contains(err, "no version source in");
	assert_contains(err, "(looked for pom.xml, package.json, VERSION)");
	free(err);
	/* an explicit source wins over the search order */
	const char *explicit_[][2] = { { "pom.xml", pom }, { "release.txt", "4.4.4\n" } };
	err = read_in(explicit_, 2, "release.txt", &v, &src, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(v.major, 4);
	semver_release(&v);
	version_source_release(&src);
}

static void verdict_of(const struct policy *p, const char *branch, const char *version, const char *latest,
                       struct verdict *out)
{
	struct semver v, l;
	assert_int_equal(semver_parse(&v, version), 0);
	if (latest)
		assert_int_equal(semver_parse(&l, latest), 0);
	policy_check(p, branch, &v, latest ? &l : NULL, out);
	semver_release(&v);
	if (latest)
		semver_release(&l);
}

static void test_release_gitflow_verdicts(void **state)
{
	(void)state;
	struct policy p;
	struct diags d = DIAGS_INIT;
	assert_int_equal(policy_build(&p, NULL, NULL, &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(p.model, "gitflow");
	struct verdict v;
	verdict_of(&p, "main", "1.2.3", "1.2.2", &v);
	assert_true(v.ok);
	verdict_release(&v);
	verdict_of(&p, "main", "1.2.3-SNAPSHOT", NULL, &v);
	assert_false(v.ok);
	assert_contains(v.message, "branch 'main' takes stable versions (rule main: stable), found 1.2.3-SNAPSHOT");
	verdict_release(&v);
	verdict_of(&p, "develop", "1.3.0", NULL, &v);
	assert_false(v.ok);
	assert_contains(v.message, "branch 'develop' takes X.Y.Z-SNAPSHOT versions (rule develop: snapshot), found 1.3.0");
	verdict_release(&v);
	verdict_of(&p, "feature/login", "1.3.0-SNAPSHOT", "1.2.3", &v);
	assert_true(v.ok);
	assert_string_equal(v.rule, "feature/*: snapshot");
	verdict_release(&v);
	verdict_of(&p, "develop", "1.2.3-SNAPSHOT", "1.2.3", &v);
	assert_false(v.ok);
	assert_contains(v.message, "version went backwards: 1.2.3-SNAPSHOT is lower than the released 1.2.3");
	verdict_release(&v);
	verdict_of(&p, "experiment", "0.0.1", NULL, &v);
	assert_true(v.ok);
	assert_null(v.rule);
	assert_contains(v.message, "no rule of the gitflow policy matches branch 'experiment'");
	verdict_release(&v);
	assert_int_equal(policy_match(&p, "hotfix/1.2.4")->artifacts, ARTIFACT_OVERRIDABLE);
	assert_int_equal(policy_match(&p, "main")->artifacts, ARTIFACT_IMMUTABLE);
	policy_release(&p);
}

static void test_release_trunk_and_custom_rules(void **state)
{
	(void)state;
	json_t *cfg = json_pack("{s:s,s:[{s:s,s:s,s:s}]}", "model", "trunk", "branches", "pattern", "release/*", "form", "stable",
	                        "tag", "release-${version}");
	struct policy p;
	struct diags d = DIAGS_INIT;
	assert_int_equal(policy_build(&p, cfg, NULL, &d), 0);
	assert_int_equal(d.n, 0);
	struct verdict v;
	verdict_of(&p, "release/2.0", "2.0.0", NULL, &v);
	assert_true(v.ok);
	verdict_release(&v);
	assert_string_equal(policy_match(&p, "release/2.0")->tag, "release-${version}");
	verdict_of(&p, "anything-else", "2.1.0-SNAPSHOT", NULL, &v);
	assert_true(v.ok);
	assert_string_equal(v.rule, "*: snapshot");
	verdict_release(&v);
	policy_release(&p);
	json_decref(cfg);
	cfg = json_pack("{s:[{s:s,s:s}]}", "branches", "pattern", "main", "form", "gold");
	assert_int_equal(policy_build(&p, cfg, NULL, &d), CRATIS_EINVAL);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].status, CRATIS_EINVAL);
	assert_null(d.v[0].file);
	assert_string_equal(d.v[0].field, "spec.versioning.branches[0].form");
	assert_string_equal(d.v[0].message, "expected stable or snapshot");
	diags_release(&d);
	json_decref(cfg);
	cfg = json_pack("{s:s}", "model", "waterfall");
	assert_int_equal(policy_build(&p, cfg, NULL, &d), CRATIS_EINVAL);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].field, "spec.versioning.model");
	diags_release(&d);
	json_decref(cfg);
}

/* An invalid versioning field is reported as one diagnostic located in the Project document;
 * the field path of a second failure does not overwrite the first's (no shared buffer). */
static void test_release_policy_error_is_located(void **state)
{
	(void)state;
	static const char yaml[] =
		"apiVersion: cratis/v1\n"
		"kind: Project\n"
		"metadata: {name: p}\n"
		"spec:\n"
		"  versioning:\n"
		"    branches:\n"
		"      - {pattern: main, form: stable}\n"
		"      - pattern: develop\n"
		"        form: gold\n";
	struct manifest_set ms;
	manifest_set_init(&ms);
	assert_int_equal(manifest_load_buffer(&ms, "project.yaml", yaml, sizeof(yaml) - 1), CRATIS_OK);
	assert_int_equal(ms.n, 1);
	const json_t *versioning = json_object_get(json_object_get(ms.docs[0]->root, "spec"), "versioning");
	struct policy p;
	struct diags d = DIAGS_INIT;
	assert_int_equal(policy_build(&p, versioning, ms.docs[0], &d), CRATIS_EINVAL);
	assert_null(p.rules);
	json_t *other = json_pack("{s:[{s:s}]}", "branches", "form", "stable");
	assert_int_equal(policy_build(&p, other, NULL, &d), CRATIS_EINVAL);
	json_decref(other);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].severity, DIAG_ERROR);
	assert_int_equal(d.v[0].status, CRATIS_EINVAL);
	assert_string_equal(d.v[0].file, "project.yaml");
	assert_int_equal(d.v[0].line, 9);
	assert_int_equal(d.v[0].column, 15);
	assert_string_equal(d.v[0].field, "spec.versioning.branches[1].form");
	assert_string_equal(d.v[0].message, "expected stable or snapshot");
	assert_string_equal(d.v[1].field, "spec.versioning.branches[0].pattern");
	assert_string_equal(d.v[1].message, "expected a branch name pattern such as main or feature/*");
	diags_release(&d);
	manifest_set_release(&ms);
}

static void test_release_tag_names(void **state)
{
	(void)state;
	char *t = policy_tag_name("v${version}", "1.2.3");
	assert_string_equal(t, "v1.2.3");
	free(t);
	char *v = policy_tag_version("v${version}", "v1.2.3");
	assert_string_equal(v, "1.2.3");
	free(v);
	assert_null(policy_tag_version("v${version}", "release-1.2.3"));
	v = policy_tag_version("app-${version}-final", "app-2.0.0-final");
	assert_string_equal(v, "2.0.0");
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release_reads_pom_version_and_line),
		cmocka_unit_test(test_release_pom_parent_and_properties),
		cmocka_unit_test(test_release_package_json_and_version_file),
		cmocka_unit_test(test_release_gitflow_verdicts),
		cmocka_unit_test(test_release_trunk_and_custom_rules),
		cmocka_unit_test(test_release_policy_error_is_located),
		cmocka_unit_test(test_release_tag_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
