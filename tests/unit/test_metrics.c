/* Unit tests: metric definitions, accumulators and the access-log and command providers
 * (src/experiment/metrics*.c). Real nginx and Prometheus are in tests/e2e/metrics_*.sh. */
#include "helpers.h"

#include <math.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "experiment/metrics.h"

static int parse_def(struct metric_def *def, const char *json, struct diags *d)
{
	json_error_t e;
	json_t *j = json_loads(json, 0, &e);
	assert_non_null(j);
	int rc = metric_def_from_json(def, j, "metrics[0]", d);
	json_decref(j);
	return rc;
}

/* Build a set of variants a, b, c from metric definitions given as JSON texts. */
static void make_set(struct metric_set *set, const char *const *defs_json, size_t n)
{
	struct metric_def defs[METRICS_MAX_METRICS];
	struct diags d = DIAGS_INIT;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(parse_def(&defs[i], defs_json[i], &d), 0);
	const char *variants[] = { "a", "b", "c" };
	assert_int_equal(metric_set_init(set, variants, 3, defs, n), 0);
	diags_release(&d);
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *line(const char *variant, const char *path, int status, double rt, const char *user)
{
	return xasprintf("{\"time\":\"2026-12-01T12:00:00+00:00\",\"variant\":\"%s\",\"status\":%d,"
	                 "\"request_time\":%.3f,\"path\":\"%s\",\"user\":\"%s\"}\n",
	                 variant, status, rt, path, user);
}

static void add(const char *file, const char *variant, const char *path, int status, double rt,
                const char *user)
{
	char *l = line(variant, path, status, rt, user);
	append(file, l);
	free(l);
}

static void test_metrics_def_errors_name_the_field(void **state)
{
	(void)state;
	struct { const char *json, *field, *msg; } cases[] = {
		{ "{\"name\":\"x\",\"kind\":\"median\"}", "metrics[0].kind", "expected \"ratio\" or \"mean\"" },
		{ "{\"name\":\"x\",\"kind\":\"ratio\",\"colour\":\"red\"}", "metrics[0].colour", "unknown field" },
		{ "{\"name\":\"x\",\"kind\":\"ratio\"}", "metrics[0].conversion", "a ratio needs" },
		{ "{\"name\":\"x\",\"kind\":\"ratio\",\"conversion\":\"/buy\",\"status\":\"20x\"}", "metrics[0].status", "status class" },
		{ "{\"name\":\"x y\",\"kind\":\"ratio\"}", "metrics[0].name", "expected a name" },
		{ "{\"name\":\"x\",\"kind\":\"mean\",\"count\":\"q\"}", "metrics[0].sum", "count, sum and sumsq together" },
		{ "{\"name\":\"x\",\"kind\":\"mean\",\"aggregate\":\"user-sum\",\"reservoir\":10}", "metrics[0].reservoir", "per-request" },
		{ "{\"name\":\"x\",\"kind\":\"mean\",\"reservoir\":\"10\"}", "metrics[0].reservoir", "expected an integer" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct metric_def def;
		struct diags d = DIAGS_INIT;
		assert_int_equal(parse_def(&def, cases[i].json, &d), CRATIS_EINVAL);
		assert_int_equal(d.n, 1);
		assert_string_equal(d.v[0].field, cases[i].field);
		assert_non_null(strstr(d.v[0].message, cases[i].msg));
		metric_def_release(&def);
		diags_release(&d);
	}
	struct metric_def def;
	struct diags d = DIAGS_INIT;
	assert_int_equal(parse_def(&def, "{\"name\":\"buy\",\"kind\":\"ratio\",\"conversion\":\"/buy\"}", &d), 0);
	assert_int_equal(def.kind, METRIC_RATIO);
	assert_string_equal(def.exposure_path, "*");
	assert_int_equal(def.conversion_status, 2);   /* 2xx by default */
	metric_def_release(&def);
	diags_release(&d);
}

static void test_metrics_set_rejects_bad_variants(void **state)
{
	(void)state;
	struct metric_def defs[1];
	struct diags d = DIAGS_INIT;
	struct metric_set set;
	assert_int_equal(parse_def(&defs[0], "{\"name\":\"m\",\"kind\":\"mean\"}", &d), 0);
	const char *dup[] = { "a", "a" };
	assert_int_equal(metric_set_init(&set, dup, 2, defs, 1), CRATIS_EINVAL);
	assert_non_null(strstr(cratis_error_last()->message, "variant 'a' is listed twice"));
	metric_set_release(&set);
	const char *bad[] = { "a", "b\"}" };
	assert_int_equal(metric_set_init(&set, bad, 2, defs, 1), CRATIS_EINVAL);
	metric_set_release(&set);
	metric_def_release(&defs[0]);
	diags_release(&d);
}

static void test_metrics_parse_line(void **state)
{
	(void)state;
	struct metric_request r;
	const char *good = "{\"time\":\"t\",\"variant\":\"b\",\"status\":201,\"request_time\":0.125,"
	                   "\"path\":\"/a\\\"b\",\"user\":\"u-1\",\"revenue\":\"12.5\"}";
	assert_true(nginx_log_parse_line(&r, good, strlen(good)));
	assert_int_equal(r.status, 201);
	assert_true(r.request_time == 0.125);
	assert_int_equal(r.variant_len, 1);
	assert_memory_equal(r.path, "/a\\\"b", r.path_len);
	double x;
	assert_true(nginx_log_number(&x, good, strlen(good), "revenue"));
	assert_true(x == 12.5);
	assert_false(nginx_log_number(&x, good, strlen(good), "absent"));
	const char *bad[] = {
		"", "not json", "{\"variant\":\"b\"}",   /* fields missing */
		"{\"variant\":\"b\",\"status\":\"200\",\"request_time\":0.1,\"path\":\"/\",\"user\":\"u\"}",
		"{\"variant\":\"b\",\"status\":200,\"request_time\":-,\"path\":\"/\",\"user\":\"u\"}",
		"{\"variant\":\"b\",\"status\":200,\"request_time\":0.1,\"path\":\"/\",\"user\":\"u\"} x",
		"{\"variant\":\"b\",\"status\":200,\"request_time\":0.1,\"path\":\"/\",\"user\":\"u\"",
		"{\"variant\":1,\"status\":200,\"request_time\":0.1,\"path\":\"/\",\"user\":\"u\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_false(nginx_log_parse_line(&r, bad[i], strlen(bad[i])));
	/* numbers read as strtod reads them, bit for bit, in nginx's forms and others */
	for (unsigned i = 0; i < 200000; i += 7) {
		const char *fmts[] = { "%.3f", "%.0f", "%.6f", "%.1e" };
		for (size_t f = 0; f < 4; f++) {
			char num[64], obj[128];
			snprintf(num, sizeof num, fmts[f], i * (f == 2 ? 0.000123 : 0.001));
			snprintf(obj, sizeof obj, "{\"x\":%s}", num);
			assert_true(nginx_log_number(&x, obj, strlen(obj), "x"));
			if (x != strtod(num, NULL))
				fail_msg("'%s' read as %.17g, strtod %.17g", num, x, strtod(num, NULL));
		}
	}
	const char *odd[] = { "{\"x\":-3}", "{\"x\":007}", "{\"x\":1234567890123456789}", "{\"x\":\"2.5\"}" };
	const double want[] = { -3, 7, 1234567890123456789.0, 2.5 };
	for (size_t i = 0; i < 4; i++) {
		assert_true(nginx_log_number(&x, odd[i], strlen(odd[i]), "x"));
		assert_true(x == want[i]);
	}
	assert_false(nginx_log_number(&x, "{\"x\":1.5x}", 10, "x"));
	assert_false(nginx_log_number(&x, "{\"x\":\"\"}", 8, "x"));   /* an unset variable */
}

/* Exposures and conversions are unique users per variant; a conversion before the exposure
 * counts once the user is exposed; the status class matters. */
static void test_metrics_ratio_counts_unique_users(void **state)
{
	(void)state;
	char *dir = tmp_dir(), *file = xasprintf("%s/access.log", dir);
	const char *defs[] = { "{\"name\":\"buy\",\"kind\":\"ratio\",\"exposure\":\"/shop*\",\"conversion\":\"/buy\"}" };
	struct metric_set set;
	make_set(&set, defs, 1);
	add(file, "a", "/shop", 200, 0.01, "u1");
	add(file, "a", "/shop/x", 200, 0.01, "u1");   /* same user: one exposure */
	add(file, "a", "/buy", 200, 0.01, "u1");
	add(file, "a", "/buy", 200, 0.01, "u1");      /* converts once */
	add(file, "a", "/shop", 200, 0.01, "u2");
	add(file, "a", "/buy", 500, 0.01, "u2");      /* 5xx: no conversion */
	add(file, "b", "/buy", 204, 0.01, "u3");      /* converts before the exposure */
	add(file, "b", "/shop", 200, 0.01, "u3");
	add(file, "b", "/shop", 200, 0.01, "u1");     /* u1 in b too: counted per variant */
	add(file, "b", "/shop", 200, 0.01, "");       /* no user id: not counted */
	add(file, "z", "/shop", 200, 0.01, "u9");     /* unknown variant */
	append(file, "garbage\n");
	struct nginx_log log;
	nginx_log_init(&log, file);
	assert_int_equal(nginx_log_read(&log, &set), 0);
	assert_int_equal(log.lines, 12);
	assert_int_equal(log.bad_lines, 1);
	assert_int_equal(log.other_variant, 1);
	struct decide_sample s;
	metric_set_sample(&s, &set, 0, 0);
	assert_true(s.n == 2 && s.conversions == 1);
	metric_set_sample(&s, &set, 0, 1);
	assert_true(s.n == 2 && s.conversions == 1);
	metric_set_sample(&s, &set, 0, 2);
	assert_true(s.n == 0 && s.conversions == 0);
	assert_true(set.exposures[0] == 2 && set.exposures[1] == 2 && set.exposures[2] == 0);
	nginx_log_release(&log);
	metric_set_release(&set);
	free(file);
	tmp_cleanup(dir);
}

/* Reads are incremental: only new lines, an unterminated last line waits for its newline,
 * rotation by rename reads the old file's rest and then the new file, truncation restarts. */
static void test_metrics_log_incremental_rotation_truncation(void **state)
{
	(void)state;
	char *dir = tmp_dir(), *file = xasprintf("%s/access.log", dir), *old = xasprintf("%s/access.log.1", dir);
	const char *defs[] = { "{\"name\":\"latency\",\"kind\":\"mean\"}" };
	struct metric_set set;
	make_set(&set, defs, 1);
	struct nginx_log log;
	nginx_log_init(&log, file);
	assert_int_equal(nginx_log_read(&log, &set), 0);   /* no file yet: empty */
	assert_int_equal(log.lines, 0);
	add(file, "a", "/", 200, 1.0, "u1");
	add(file, "a", "/", 200, 2.0, "u2");
	assert_int_equal(nginx_log_read(&log, &set), 0);
	assert_true(set.acc[0][0].n == 2);
	assert_int_equal(nginx_log_read(&log, &set), 0);   /* nothing new: nothing counted twice */
	assert_true(set.acc[0][0].n == 2);
	char *l = line("a", "/", 200, 4.0, "u3");
	size_t half = strlen(l) / 2;
	char *head = xstrndup(l, half);
	append(file, head);
	assert_int_equal(nginx_log_read(&log, &set), 0);
	assert_true(set.acc[0][0].n == 2);                 /* half a line: not yet */
	append(file, l + half);
	assert_int_equal(nginx_log_read(&log, &set), 0);
	assert_true(set.acc[0][0].n == 3);
	assert_true(set.acc[0][0].sum == 7.0);
	/* rotation: one more line lands in the old file after the rename, then a new file */
	assert_int_equal(rename(file, old), 0);
	add(old, "a", "/", 200, 8.0, "u4");
	add(file, "b", "/", 200, 16.0, "u5");
	assert_int_equal(nginx_log_read(&log, &set), 0);
	assert_int_equal(log.rotations, 1);
	assert_true(set.acc[0][0].n == 4 && set.acc[0][0].sum == 15.0);
	assert_true(set.acc[0][1].n == 1 && set.acc[0][1].sum == 16.0);
	/* truncation in place (copytruncate), then a new line */
	assert_int_equal(truncate(file, 0), 0);
	add(file, "b", "/", 200, 32.0, "u6");
	assert_int_equal(nginx_log_read(&log, &set), 0);
	assert_int_equal(log.rotations, 2);
	assert_true(set.acc[0][1].n == 2 && set.acc[0][1].sum == 48.0);
	assert_int_equal(log.bad_lines, 0);
	free(head);
	free(l);
	nginx_log_release(&log);
	metric_set_release(&set);
	free(file);
	free(old);
	tmp_cleanup(dir);
}

/* Means per request and per user agree with a two-pass computation on the same values; the
 * reservoir keeps at most its size, all taken from the input. */
static void test_metrics_mean_per_request_and_per_user(void **state)
{
	(void)state;
	char *dir = tmp_dir(), *file = xasprintf("%s/access.log", dir);
	const char *defs[] = {
		"{\"name\":\"rt\",\"kind\":\"mean\",\"path\":\"/api/*\",\"reservoir\":50}",
		"{\"name\":\"revenue\",\"kind\":\"mean\",\"field\":\"revenue\",\"aggregate\":\"user-sum\"}",
		"{\"name\":\"avg\",\"kind\":\"mean\",\"aggregate\":\"user-mean\"}",
	};
	struct metric_set set;
	make_set(&set, defs, 3);
	double rts[200], user_sum[10] = { 0 }, user_rt[10] = { 0 }, user_n[10] = { 0 };
	for (int i = 0; i < 200; i++) {
		rts[i] = 0.001 * ((i * 37) % 101);
		char *l = xasprintf("{\"variant\":\"a\",\"status\":200,\"request_time\":%.3f,\"path\":\"/api/%d\","
		                    "\"user\":\"u%d\",\"revenue\":%d}\n", rts[i], i, i % 10, i % 7);
		append(file, l);
		free(l);
		user_sum[i % 10] += i % 7;
		user_rt[i % 10] += rts[i];
		user_n[i % 10] += 1;
	}
	append(file, "{\"variant\":\"a\",\"status\":200,\"request_time\":9,\"path\":\"/other\",\"user\":\"u0\"}\n");
	struct nginx_log log;
	nginx_log_init(&log, file);
	assert_int_equal(nginx_log_read(&log, &set), 0);
	/* two-pass reference */
	double m = 0, v = 0;
	for (int i = 0; i < 200; i++)
		m += rts[i] / 200;
	for (int i = 0; i < 200; i++)
		v += (rts[i] - m) * (rts[i] - m) / 199;
	struct decide_sample s;
	metric_set_sample(&s, &set, 0, 0);
	assert_true(s.n == 200);
	assert_true(fabs(s.mean - m) < 1e-12 && fabs(s.var - v) < 1e-12);
	assert_int_equal(set.acc[0][0].n_values, 50);
	for (size_t k = 0; k < 50; k++) {
		bool found = false;
		for (int i = 0; i < 200 && !found; i++)
			found = fabs(set.acc[0][0].values[k] - rts[i]) < 1e-12;
		assert_true(found);
	}
	double um = 0, uv = 0;
	for (int u = 0; u < 10; u++)
		um += user_sum[u] / 10;
	for (int u = 0; u < 10; u++)
		uv += (user_sum[u] - um) * (user_sum[u] - um) / 9;
	metric_set_sample(&s, &set, 1, 0);
	assert_true(s.n == 10);
	assert_true(fabs(s.mean - um) < 1e-9 && fabs(s.var - uv) < 1e-9);
	/* user-mean: u0 also has the /other request (9 s) */
	user_rt[0] += 9;
	user_n[0] += 1;
	double am = 0, av = 0;
	for (int u = 0; u < 10; u++)
		am += user_rt[u] / user_n[u] / 10;
	for (int u = 0; u < 10; u++)
		av += (user_rt[u] / user_n[u] - am) * (user_rt[u] / user_n[u] - am) / 9;
	metric_set_sample(&s, &set, 2, 0);
	assert_true(s.n == 10);
	assert_true(fabs(s.mean - am) < 1e-9 && fabs(s.var - av) < 1e-9);
	metric_set_sample(&s, &set, 0, 1);
	assert_true(s.n == 0 && isnan(s.mean));
	nginx_log_release(&log);
	metric_set_release(&set);
	free(file);
	tmp_cleanup(dir);
}

static const char *cmd_defs[] = {
	"{\"name\":\"buy\",\"kind\":\"ratio\",\"exposures\":\"visitors\",\"conversions\":\"buyers\"}",
	"{\"name\":\"rev\",\"kind\":\"mean\",\"count\":\"n\",\"sum\":\"s\",\"sumsq\":\"ss\"}",
};

static int run_cmd(struct metric_set *set, const char *script)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	return command_read(set, argv, 0);
}

static void test_metrics_command_provider(void **state)
{
	(void)state;
	struct metric_set set;
	make_set(&set, cmd_defs, 2);
	assert_int_equal(run_cmd(&set, "echo '{\"a\":{\"visitors\":100,\"buyers\":10,\"n\":4,\"s\":10,\"ss\":30},"
	                               "\"b\":{\"visitors\":90,\"buyers\":12,\"n\":2,\"s\":-1,\"ss\":5},"
	                               "\"c\":{\"visitors\":0,\"buyers\":0,\"n\":0,\"s\":0,\"ss\":0}}'"), 0);
	struct decide_sample s;
	metric_set_sample(&s, &set, 0, 1);
	assert_true(s.n == 90 && s.conversions == 12);
	metric_set_sample(&s, &set, 1, 0);
	assert_true(s.n == 4 && s.mean == 2.5 && fabs(s.var - (30 - 25.0) / 3) < 1e-12);
	assert_true(set.exposures[0] == 100);
	struct { const char *script, *msg; } bad[] = {
		{ "echo '{\"a\":{\"visitors\":1,\"buyers\":0,\"n\":0,\"s\":0,\"ss\":0}}'", "variant 'b' is missing" },
		{ "echo '{\"a\":{\"visitors\":1,\"buyers\":\"x\"}}'", "variant 'a': key 'buyers' is not a number" },
		{ "echo '{\"a\":{\"visitors\":1,\"buyers\":2,\"n\":0,\"s\":0,\"ss\":0}}'", "conversions 2 above exposures 1" },
		{ "echo '[1]'", "expected a JSON object" },
		{ "echo '{'", "invalid JSON" },
		{ "echo oops >&2; exit 3", "exit status 3: metrics command 'sh' failed: oops" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_not_equal(run_cmd(&set, bad[i].script), 0);
		if (!strstr(cratis_error_last()->message, bad[i].msg))
			fail_msg("'%s' not in '%s'", bad[i].msg, cratis_error_last()->message);
	}
	metric_set_release(&set);
}

static void test_metrics_interpolate_and_prometheus_unreachable(void **state)
{
	(void)state;
	char *q = metrics_interpolate("sum(x{v=\"${variant}\"}) / sum(y{v=\"${variant}\"})", "b");
	assert_string_equal(q, "sum(x{v=\"b\"}) / sum(y{v=\"b\"})");
	free(q);
	/* a port nothing listens on (bound, not listening) */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t len = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	char *url = xasprintf("http://127.0.0.1:%d", ntohs(a.sin_port));
	struct prom_source src = { .url = url, .timeout_ms = 5000 };
	double x;
	assert_int_equal(prom_query(&x, &src, "up"), CRATIS_EIO);
	assert_non_null(strstr(cratis_error_last()->message, "query 'up': GET"));
	close(fd);
	free(url);
}

static const char *state_defs[] = {
	"{\"name\":\"buy\",\"kind\":\"ratio\",\"conversion\":\"/buy\"}",
	"{\"name\":\"rt\",\"kind\":\"mean\",\"reservoir\":10}",
	"{\"name\":\"spend\",\"kind\":\"mean\",\"aggregate\":\"user-sum\"}",
};

static void add_users(const char *file, int from, int to)
{
	for (int i = from; i < to; i++)
		add(file, (char[]){ "abc"[i % 3], 0 }, i % 4 ? "/" : "/buy", 200, 0.001 * i, (char[]){ 'u', (char)('a' + i % 17), 0 });
}

static bool sets_equal(const struct metric_set *x, const struct metric_set *y)
{
	json_t *a = metric_set_to_json(x), *b = metric_set_to_json(y);
	bool eq = json_equal(a, b);
	json_decref(a);
	json_decref(b);
	for (size_t m = 0; eq && m < x->n_metrics; m++)
		for (size_t v = 0; eq && v < x->n_variants; v++)
			eq = x->acc[m][v].n_values == y->acc[m][v].n_values &&
			     (x->acc[m][v].n_values == 0 ||
			      memcmp(x->acc[m][v].values, y->acc[m][v].values, x->acc[m][v].n_values * sizeof(double)) == 0);
	return eq;
}

/* A controller saved its metrics and read position, restarted and resumed: the counts are those of
 * one reader that never stopped, including a half-written line at the save. */
static void test_metrics_state_resumes_where_it_left(void **state)
{
	(void)state;
	char *dir = tmp_dir(), *file = xasprintf("%s/access.log", dir), *old = xasprintf("%s/access.log.1", dir);
	struct metric_set s1, s2, ref;
	struct nginx_log l1, l2, lref;
	make_set(&s1, state_defs, 3);
	nginx_log_init(&l1, file);
	add_users(file, 0, 100);
	append(file, "{\"variant\":\"b\",\"status\":200,");
	assert_int_equal(nginx_log_read(&l1, &s1), 0);
	struct buf saved = BUF_INIT;
	metrics_state_save(&saved, &s1, &l1);
	nginx_log_release(&l1);
	metric_set_release(&s1);

	append(file, "\"request_time\":0.5,\"path\":\"/buy\",\"user\":\"ua\"}\n");
	add_users(file, 100, 150);
	make_set(&s2, state_defs, 3);
	nginx_log_init(&l2, file);
	assert_int_equal(metrics_state_load(&s2, &l2, saved.ptr, saved.len), 0);
	assert_int_equal(nginx_log_read(&l2, &s2), 0);
	make_set(&ref, state_defs, 3);
	nginx_log_init(&lref, file);
	assert_int_equal(nginx_log_read(&lref, &ref), 0);
	assert_true(sets_equal(&s2, &ref));
	assert_int_equal(l2.lines, 151);
	assert_int_equal(l2.lines, lref.lines);
	assert_int_equal(l2.rotations, 0);
	assert_true(s2.acc[0][1].exposures > 0 && s2.acc[2][0].n > 0 && s2.acc[1][2].n_values == 10);

	/* every shorter prefix of the state, and a state of other variants, is refused */
	for (size_t n = 0; n < saved.len; n++) {
		struct metric_set s3;
		make_set(&s3, state_defs, 3);
		assert_int_equal(metrics_state_load(&s3, NULL, saved.ptr, n), CRATIS_EINVAL);
		assert_true(s3.exposures[0] == 0);
		metric_set_release(&s3);
	}
	struct metric_def defs[1];
	struct diags d = DIAGS_INIT;
	assert_int_equal(parse_def(&defs[0], state_defs[0], &d), 0);
	const char *other[] = { "a", "b", "x" };
	struct metric_set s4;
	assert_int_equal(metric_set_init(&s4, other, 3, defs, 1), 0);
	assert_int_equal(metrics_state_load(&s4, NULL, saved.ptr, saved.len), CRATIS_EINVAL);
	assert_non_null(strstr(cratis_error_last()->message, "other variants or metrics"));
	metric_set_release(&s4);
	diags_release(&d);

	/* rotated while the controller was down: the new file is read from its start */
	buf_clear(&saved);
	metrics_state_save(&saved, &s2, &l2);
	nginx_log_release(&l2);
	metric_set_release(&s2);
	assert_int_equal(rename(file, old), 0);
	add_users(file, 150, 160);
	make_set(&s2, state_defs, 3);
	nginx_log_init(&l2, file);
	assert_int_equal(metrics_state_load(&s2, &l2, saved.ptr, saved.len), 0);
	assert_int_equal(l2.rotations, 1);
	assert_int_equal(nginx_log_read(&l2, &s2), 0);
	assert_int_equal(l2.lines, 161);
	add_users(old, 0, 0);
	assert_int_equal(nginx_log_read(&lref, &ref), 0);   /* the reference follows the rename */
	assert_true(sets_equal(&s2, &ref));

	buf_release(&saved);
	nginx_log_release(&l2);
	nginx_log_release(&lref);
	metric_set_release(&s2);
	metric_set_release(&ref);
	free(file);
	free(old);
	tmp_cleanup(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_def_errors_name_the_field),
		cmocka_unit_test(test_metrics_set_rejects_bad_variants),
		cmocka_unit_test(test_metrics_parse_line),
		cmocka_unit_test(test_metrics_ratio_counts_unique_users),
		cmocka_unit_test(test_metrics_log_incremental_rotation_truncation),
		cmocka_unit_test(test_metrics_mean_per_request_and_per_user),
		cmocka_unit_test(test_metrics_command_provider),
		cmocka_unit_test(test_metrics_interpolate_and_prometheus_unreachable),
		cmocka_unit_test(test_metrics_state_resumes_where_it_left),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
