/* The Experiment spec (src/experiment/controller_spec.c): what a valid spec maps to (the
 * decision's configuration, weights, the metric set's definitions), every mistake named by its
 * field, the spec's identity, and the base64 the record keeps the metrics state in. */
#include "helpers.h"

#include <math.h>

#include "app/app.h"
#include "experiment/experiment_internal.h"

static const char *const good =
	"{\"rollout\": \"web\","
	" \"variants\": [{\"name\": \"a\", \"control\": true}, {\"name\": \"b\", \"variables\": {\"P\": 0.3}},"
	"               {\"name\": \"c\", \"template\": {\"command\": [\"app\"]}}],"
	" \"split\": {\"weights\": {\"a\": 2, \"c\": 0.5}, \"stickiness\": \"cookie\", \"pinHeader\": \"X-V\"},"
	" \"metrics\": [{\"name\": \"buy\", \"kind\": \"ratio\", \"conversion\": \"/buy\"},"
	"             {\"name\": \"latency\", \"kind\": \"mean\"},"
	"             {\"name\": \"errors\", \"kind\": \"ratio\", \"conversion\": \"/*\", \"status\": \"5xx\"}],"
	" \"objective\": {\"metric\": \"buy\"},"
	" \"guardrails\": [{\"metric\": \"errors\", \"threshold\": 0.01}, {\"metric\": \"latency\", \"threshold\": \"0.2\", \"relative\": true},"
	"                {\"metric\": \"buy\", \"direction\": \"maximize\", \"threshold\": 0.05}],"
	" \"duration\": {\"min\": \"2m\", \"max\": 3600, \"minSamples\": 500},"
	" \"alpha\": 0.01, \"minimumDetectableEffect\": 0.05, \"until\": \"max\", \"mode\": \"fixed\", \"promotion\": \"manual\"}";

static void test_spec_maps_to_the_decision(void **state)
{
	(void)state;
	json_t *j = json_loads(good, 0, NULL);
	struct xp_spec x;
	struct diags d = DIAGS_INIT;
	assert_int_equal(xp_spec_parse(&x, j, &d), CRATIS_OK);
	assert_int_equal(d.n, 0);
	assert_string_equal(x.rollout, "web");
	assert_int_equal(x.n_variants, 3);
	assert_int_equal(x.control, 0);
	assert_true(x.variants[0].weight == 2 && x.variants[1].weight == 1 && x.variants[2].weight == 0.5);
	assert_string_equal(x.stickiness, "cookie");
	assert_string_equal(x.pin_header, "X-V");
	assert_null(x.cookie);
	assert_true(x.cfg.min_duration_s == 120 && x.cfg.max_duration_s == 3600 && x.cfg.min_samples == 500);
	assert_true(x.cfg.alpha == 0.01 && x.cfg.power == 0.8 && x.cfg.mde == 0.05);
	assert_int_equal(x.cfg.until, DECIDE_UNTIL_MAX);
	assert_int_equal(x.cfg.mode, DECIDE_FIXED);
	assert_true(x.manual);
	assert_int_equal(x.cfg.metric, DECIDE_RATIO);
	assert_int_equal(x.cfg.direction, DECIDE_MAXIMIZE);
	/* the set: the objective first, each guardrail's metric once (buy is shared) */
	assert_int_equal(x.n_defs, 3);
	assert_int_equal(x.objective_metric, 0);
	assert_int_equal(x.cfg.n_guardrails, 3);
	assert_int_equal(x.guardrail_metric[0], 1);
	assert_int_equal(x.guardrail_metric[1], 2);
	assert_int_equal(x.guardrail_metric[2], 0);
	assert_true(x.guardrails[0].direction == DECIDE_MINIMIZE && x.guardrails[0].threshold == 0.01 && !x.guardrails[0].relative);
	assert_true(x.guardrails[1].metric == DECIDE_MEAN && x.guardrails[1].threshold == 0.2 && x.guardrails[1].relative);
	assert_true(x.guardrails[2].direction == DECIDE_MAXIMIZE);
	struct metric_def defs[METRICS_MAX_METRICS];
	assert_int_equal(xp_spec_defs(&x, defs), CRATIS_OK);
	assert_string_equal(defs[0].name, "buy");
	assert_string_equal(defs[1].name, "errors");
	assert_int_equal(defs[1].conversion_status, 5);
	for (size_t i = 0; i < x.n_defs; i++)
		metric_def_release(&defs[i]);
	/* the identity: the same for the same spec in another key order, another for a change */
	char h1[17];
	memcpy(h1, x.hash, sizeof(h1));
	xp_spec_release(&x);
	json_t *k = json_loads(good, 0, NULL);
	json_t *moved = json_object_get(k, "alpha");
	json_incref(moved);
	json_object_del(k, "alpha");
	json_object_set_new(k, "alpha", moved);
	assert_int_equal(xp_spec_parse(&x, k, &d), CRATIS_OK);
	assert_string_equal(x.hash, h1);
	xp_spec_release(&x);
	json_object_set_new(k, "alpha", json_real(0.05));
	assert_int_equal(xp_spec_parse(&x, k, &d), CRATIS_OK);
	assert_string_not_equal(x.hash, h1);
	xp_spec_release(&x);
	json_decref(k);
	json_decref(j);
	diags_release(&d);
}

/* spec with key k replaced by the JSON value v (NULL: removed) must be refused at field. */
static void refused(const char *k, const char *v, const char *field)
{
	json_t *j = json_loads(good, 0, NULL);
	if (v)
		json_object_set_new(j, k, json_loads(v, JSON_DECODE_ANY, NULL));
	else
		json_object_del(j, k);
	struct xp_spec x;
	struct diags d = DIAGS_INIT;
	int rc = xp_spec_parse(&x, j, &d);
	bool found = false;
	for (size_t i = 0; i < d.n; i++)
		found = found || (d.v[i].field && !strcmp(d.v[i].field, field));
	if (rc != CRATIS_EINVAL || !found) {
		for (size_t i = 0; i < d.n; i++)
			print_error("  %s: %s\n", d.v[i].field ? d.v[i].field : "", d.v[i].message);
		fail_msg("%s = %s: expected an error at %s", k, v ? v : "(absent)", field);
	}
	xp_spec_release(&x);
	diags_release(&d);
	json_decref(j);
}

static void test_spec_errors_name_the_field(void **state)
{
	(void)state;
	refused("rollout", NULL, "spec.rollout");
	refused("variants", "[{\"name\": \"a\", \"control\": true}]", "spec.variants");
	refused("variants", "[{\"name\": \"a\"}, {\"name\": \"b\"}]", "spec.variants");
	refused("variants", "[{\"name\": \"a\", \"control\": true}, {\"name\": \"a\"}]", "spec.variants[1].name");
	refused("variants", "[{\"name\": \"a b\", \"control\": true}, {\"name\": \"b\"}]", "spec.variants[0].name");
	refused("variants", "[{\"name\": \"a\", \"control\": true, \"variables\": {}}, {\"name\": \"b\"}]", "spec.variants[0].variables");
	refused("variants", "[{\"name\": \"a\", \"control\": true}, {\"name\": \"b\", \"template\": {\"env\": {}}}]",
	        "spec.variants[1].template");
	refused("variants", "[{\"name\": \"a\", \"control\": true}, {\"name\": \"b\", \"colour\": 1}]", "spec.variants[1].colour");
	refused("split", "{\"weights\": {\"x\": 1}}", "spec.split.weights.x");
	refused("split", "{\"weights\": {\"a\": 0}}", "spec.split.weights.a");
	refused("split", "{\"stickiness\": \"ip\"}", "spec.split.stickiness");
	refused("split", "{\"stickiness\": \"header\"}", "spec.split.userHeader");
	refused("metrics", "[]", "spec.metrics");
	refused("metrics", "[{\"name\": \"buy\", \"kind\": \"median\"}]", "spec.metrics[0].kind");
	refused("objective", "{\"metric\": \"revenue\"}", "spec.objective.metric");
	refused("objective", "{\"metric\": \"buy\", \"direction\": \"up\"}", "spec.objective.direction");
	refused("objective", "{\"expression\": \"buy.rate * revnue.mean\"}", "spec.objective.expression");
	refused("objective", "{\"expression\": \"buy.rate\", \"metric\": \"buy\"}", "spec.objective");
	refused("guardrails", "[{\"metric\": \"errors\"}]", "spec.guardrails[0].threshold");
	refused("guardrails", "[{\"metric\": \"nope\", \"threshold\": 1}]", "spec.guardrails[0].metric");
	refused("duration", "{\"min\": \"10s\"}", "spec.duration.max");
	refused("duration", "{\"min\": \"2h\", \"max\": \"1h\"}", "spec.duration.max");
	refused("duration", "{\"min\": \"soon\", \"max\": \"1h\"}", "spec.duration.min");
	refused("duration", "{\"max\": \"1e300h\"}", "spec.duration.max"); /* fuzz_experiment_spec: an overflow */
	refused("duration", "{\"max\": \"-5s\"}", "spec.duration.max");
	refused("alpha", "1.5", "spec.alpha");
	refused("power", "0", "spec.power");
	refused("minimumDetectableEffect", "-1", "spec.minimumDetectableEffect");
	refused("until", "\"forever\"", "spec.until");
	refused("mode", "\"bayes\"", "spec.mode");
	refused("promotion", "\"sometimes\"", "spec.promotion");
	refused("provider", "{\"type\": \"prometheus\"}", "spec.provider.url");
	refused("provider", "{\"type\": \"command\", \"command\": \"sh -c x\"}", "spec.provider.command");
	refused("provider", "{\"type\": \"statsd\"}", "spec.provider.type");
	refused("promotoin", "\"manual\"", "spec.promotoin");
}

static void test_composite_objective_reads_every_metric(void **state)
{
	(void)state;
	json_t *j = json_loads(good, 0, NULL);
	json_object_set_new(j, "objective", json_pack("{s:s,s:s}", "expression", "buy.rate - 0.1 * latency.mean", "direction", "maximize"));
	struct xp_spec x;
	struct diags d = DIAGS_INIT;
	assert_int_equal(xp_spec_parse(&x, j, &d), CRATIS_OK);
	assert_string_equal(x.expression, "buy.rate - 0.1 * latency.mean");
	assert_int_equal(x.cfg.metric, DECIDE_MEAN);
	assert_int_equal(x.n_defs, 3);
	xp_spec_release(&x);
	diags_release(&d);
	json_decref(j);
}

static void test_base64_round_trip(void **state)
{
	(void)state;
	unsigned char data[64];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(data); n++) {
		char *t = xp_b64_encode(data, n);
		assert_int_equal(strlen(t), 4 * ((n + 2) / 3));
		size_t len;
		unsigned char *back = xp_b64_decode(t, &len);
		assert_non_null(back);
		assert_int_equal(len, n);
		assert_memory_equal(back, data, n);
		free(back);
		free(t);
	}
	/* RFC 4648 section 10 */
	char *t = xp_b64_encode("foobar", 6);
	assert_string_equal(t, "Zm9vYmFy");
	free(t);
	t = xp_b64_encode("fo", 2);
	assert_string_equal(t, "Zm8=");
	free(t);
	size_t len;
	assert_null(xp_b64_decode("Zm9", &len));
	assert_null(xp_b64_decode("Zm=v", &len));
	assert_null(xp_b64_decode("Z!9v", &len));
	assert_null(xp_b64_decode("Zm9=", &len)); /* not canonical: bits under the padding */
	void *zm = xp_b64_decode("Zm==", &len); /* "f": 0x66, then 0110 under the padding: refused */
	assert_null(zm);
}

/* What cratis serve reads for the dashboard: the records listed and one read, store only. */
static void test_list_and_get_from_the_store(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *db = xasprintf("sqlite:%s/state.db", dir);
	struct store *s;
	assert_int_equal(store_open(&s, db), CRATIS_OK);
	const char *bodies[] = {
		"{\"rollout\": \"web\", \"status\": \"running\", \"verdict\": \"continue\", \"control\": \"a\","
		" \"started\": \"2026-12-01T15:00:00Z\", \"elapsedSeconds\": 12.5, \"history\": [{\"time\": \"t\"}]}",
		"{\"rollout\": \"web\", \"status\": \"concluded\", \"verdict\": \"promote\", \"winner\": \"c\", \"control\": \"a\"}",
	};
	const char *scopes[] = { "staging/shop", "production/shop" }, *names[] = { "checkout", "banner" };
	for (size_t i = 0; i < 2; i++) {
		struct record r = { .kind = (char *)EXPERIMENT_RECORD_KIND, .scope = (char *)scopes[i], .name = (char *)names[i],
		                    .body = (char *)bodies[i] };
		assert_int_equal(store_record_put(s, &r, 0, NULL), CRATIS_OK);
		free(r.created);
		free(r.updated);
	}
	struct app a;
	memset(&a, 0, sizeof(a));
	a.store = s;
	struct diags d = DIAGS_INIT;
	json_t *list;
	assert_int_equal(app_experiments_list(&a, &list, &d), CRATIS_OK);
	assert_int_equal(json_array_size(list), 2);
	json_t *p = json_array_get(list, 0), *st = json_array_get(list, 1); /* ordered by scope */
	assert_string_equal(json_string_value(json_object_get(p, "environment")), "production");
	assert_string_equal(json_string_value(json_object_get(p, "project")), "shop");
	assert_string_equal(json_string_value(json_object_get(p, "name")), "banner");
	assert_string_equal(json_string_value(json_object_get(p, "winner")), "c");
	assert_string_equal(json_string_value(json_object_get(st, "status")), "running");
	assert_true(json_is_null(json_object_get(st, "winner")) || !json_object_get(st, "winner"));
	assert_true(json_string_length(json_object_get(st, "updated")) > 0);
	json_decref(list);
	json_t *doc;
	assert_int_equal(app_experiment_get(&a, "shop", "staging", "checkout", &doc, &d), CRATIS_OK);
	assert_string_equal(json_string_value(json_object_get(doc, "status")), "running");
	assert_true(json_number_value(json_object_get(doc, "elapsedSeconds")) == 12.5);
	assert_int_equal(json_array_size(json_object_get(doc, "history")), 1);
	assert_true(json_is_null(json_object_get(doc, "result")));
	json_decref(doc);
	assert_int_equal(app_experiment_get(&a, "shop", "staging", "banner", &doc, &d), CRATIS_ENOTFOUND);
	assert_null(doc);
	diags_release(&d);
	store_close(s);
	free(db);
	tmp_cleanup(dir);
}

/* cratis serve's scheduler: what it reads without the lock to know where there is work. */
static void test_upkeep_due(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *db = xasprintf("sqlite:%s/state.db", dir);
	struct store *s;
	assert_int_equal(store_open(&s, db), CRATIS_OK);
	const char *statuses[] = { "running", "concluding", "decided", "concluded", "running" };
	const char *scopes[] = { "staging/shop", "staging/other", "staging/shop", "staging/shop", "production/shop" };
	const char *names[] = { "x1", "x2", "x3", "x4", "x5" };
	for (size_t i = 0; i < 5; i++) {
		char *body = xasprintf("{\"status\": \"%s\"}", statuses[i]);
		struct record r = { .kind = (char *)EXPERIMENT_RECORD_KIND, .scope = (char *)scopes[i], .name = (char *)names[i],
		                    .body = body };
		assert_int_equal(store_record_put(s, &r, 0, NULL), CRATIS_OK);
		free(r.created);
		free(r.updated);
		free(body);
	}
	struct app a;
	memset(&a, 0, sizeof(a));
	a.store = s;
	struct diags d = DIAGS_INIT;
	size_t n = 99;
	bool ro = true;
	assert_int_equal(app_upkeep_due(&a, "staging", &n, &ro, &d), CRATIS_OK);
	assert_int_equal(n, 2); /* running and concluding; not decided nor concluded, nor production's */
	assert_false(ro);       /* no Rollout recorded */
	assert_int_equal(app_upkeep_due(&a, "stag", &n, &ro, &d), CRATIS_OK);
	assert_int_equal(n, 0); /* a prefix of an environment's name is another environment */
	diags_release(&d);
	store_close(s);
	free(db);
	tmp_cleanup(dir);

	/* the releases: a previous one due, one not yet due, one kept (0), an unsettled switch */
	struct release v[2] = { { .status = (char *)"active" }, { .status = (char *)"previous", .retire_at = 100 } };
	struct releases rels = { v, 2, 2 };
	assert_true(rollout_maintenance_due(&rels, 100));
	assert_false(rollout_maintenance_due(&rels, 99));
	v[1].retire_at = 0;
	assert_false(rollout_maintenance_due(&rels, 1000000));
	v[1].status = (char *)"retiring";
	assert_true(rollout_maintenance_due(&rels, 0));
	v[1].status = (char *)"active";
	assert_true(rollout_maintenance_due(&rels, 0)); /* two active: a switch left half done */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_maps_to_the_decision),
		cmocka_unit_test(test_spec_errors_name_the_field),
		cmocka_unit_test(test_composite_objective_reads_every_metric),
		cmocka_unit_test(test_base64_round_trip),
		cmocka_unit_test(test_list_and_get_from_the_store),
		cmocka_unit_test(test_upkeep_due),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
