/* Prometheus (HTTP API /api/v1/query) and command metrics providers (issue 12). libcurl is opened
 * on first use (src/util/curl_lazy.h), so commands that never query Prometheus do not load it. */
#include "experiment/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"
#include "util/curl_lazy.h"
#include "util/error.h"
#include "util/subprocess.h"
#include "util/util.h"

#define ANSWER_CAP (4u << 20)

static size_t on_body(char *data, size_t size, size_t n, void *payload)
{
	struct buf *b = payload;
	if (b->len + size * n > ANSWER_CAP)
		return 0;
	buf_add(b, data, size * n);
	return size * n;
}

char *metrics_interpolate(const char *tmpl, const char *variant)
{
	struct buf b = BUF_INIT;
	const char *p = tmpl, *hit;
	while ((hit = strstr(p, "${variant}")) != NULL) {
		buf_add(&b, p, (size_t)(hit - p));
		buf_adds(&b, variant);
		p = hit + strlen("${variant}");
	}
	buf_adds(&b, p);
	return buf_detach(&b);
}

/* The value of a Prometheus sample [time, "value"]. */
static int sample_value(double *out, const json_t *sample, const char *query)
{
	const char *s = json_string_value(json_array_get(sample, 1));
	char *e;
	double x = s ? strtod(s, &e) : NAN;
	if (!s || e == s || *e || !isfinite(x))
		return error_set(CRATIS_EINVAL, "query '%s': the value %s%s%s is not a finite number",
		                 query, s ? "'" : "", s ? s : "(missing)", s ? "'" : "");
	*out = x;
	return 0;
}

static int parse_answer(double *out, const char *body, size_t len, long http, const char *query)
{
	json_error_t jerr;
	json_t *j = json_loadb(body, len, 0, &jerr);
	int rc;
	if (!json_is_object(j)) {
		rc = error_set(CRATIS_EIO, "query '%s': HTTP %ld, not a Prometheus answer: %s", query,
		               http, j ? "not an object" : jerr.text);
		goto out_free;
	}
	const char *status = json_string_value(json_object_get(j, "status"));
	if (!status || strcmp(status, "success") != 0) {
		const char *type = json_string_value(json_object_get(j, "errorType"));
		const char *msg = json_string_value(json_object_get(j, "error"));
		rc = error_set(CRATIS_EINVAL, "query '%s': prometheus answered status '%s' (HTTP %ld): "
		               "%s: %s", query, status ? status : "(none)", http, type ? type : "error",
		               msg ? msg : "no message");
		goto out_free;
	}
	json_t *data = json_object_get(j, "data");
	const char *rtype = json_string_value(json_object_get(data, "resultType"));
	json_t *result = json_object_get(data, "result");
	if (rtype && strcmp(rtype, "scalar") == 0) {
		rc = sample_value(out, result, query);
	} else if (rtype && strcmp(rtype, "vector") == 0 && json_is_array(result)) {
		if (json_array_size(result) == 0)
			rc = error_set(CRATIS_EINVAL, "query '%s': no data (an empty instant vector)", query);
		else if (json_array_size(result) > 1)
			rc = error_set(CRATIS_EINVAL, "query '%s': %zu series, expected one (aggregate it, "
			               "e.g. with sum())", query, json_array_size(result));
		else
			rc = sample_value(out, json_object_get(json_array_get(result, 0), "value"), query);
	} else {
		rc = error_set(CRATIS_EINVAL, "query '%s': result type '%s', expected a scalar or an "
		               "instant vector", query, rtype ? rtype : "(none)");
	}
out_free:
	json_decref(j);
	return rc;
}

int prom_query(double *out, const struct prom_source *src, const char *query)
{
	const struct curl_api *api;
	int rc = curl_api_get(&api);
	if (rc != 0)
		return rc;
	CURL *c = api->curl_easy_init();
	if (!c)
		return error_set(CRATIS_EIO, "query '%s': curl_easy_init failed", query);
	struct buf body = BUF_INIT;
	char *esc = api->curl_easy_escape(c, query, 0);
	if (!esc) {
		rc = error_set(CRATIS_EIO, "query '%s': cannot URL-encode it", query);
		goto out_cleanup;
	}
	const char *base = src->url;
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	char *url = xasprintf("%.*s/api/v1/query?query=%s", (int)bl, base, esc);
	api->curl_free(esc);
	long timeout = src->timeout_ms > 0 ? src->timeout_ms : 10000;
	api->curl_easy_setopt(c, CURLOPT_URL, url);
	api->curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	api->curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	api->curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	api->curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	CURLcode cc = api->curl_easy_perform(c);
	if (cc != CURLE_OK) {
		rc = error_set(cc == CURLE_OPERATION_TIMEDOUT ? CRATIS_ETIMEOUT : CRATIS_EIO,
		               "query '%s': GET %s/api/v1/query: %s", query, src->url,
		               api->curl_easy_strerror(cc));
		goto out_url;
	}
	long http = 0;
	api->curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
	rc = parse_answer(out, body.ptr, body.len, http, query);
out_url:
	free(url);
out_cleanup:
	buf_release(&body);
	api->curl_easy_cleanup(c);
	return rc;
}

/* The sources of definition def, in the order exposures, conversions or count, sum, sumsq. */
static size_t def_sources(const struct metric_def *def, const char *out[3])
{
	if (def->kind == METRIC_RATIO) {
		out[0] = def->src_exposures;
		out[1] = def->src_conversions;
		return out[0] && out[1] ? 2 : 0;
	}
	out[0] = def->src_count;
	out[1] = def->src_sum;
	out[2] = def->src_sumsq;
	return out[0] ? 3 : 0;
}

/* Put totals x[] of definition m into variant v's accumulator. */
static int set_totals(struct metric_set *set, size_t m, size_t v, const double *x)
{
	struct metric_acc *a = &set->acc[m][v];
	for (int i = 0; i < (set->defs[m].kind == METRIC_RATIO ? 2 : 3); i++) {
		bool signed_ok = set->defs[m].kind == METRIC_MEAN && i == 1;   /* a sum */
		if (!isfinite(x[i]) || (!signed_ok && x[i] < 0))
			return error_set(CRATIS_EINVAL, "a negative or non-finite total %g", x[i]);
	}
	if (set->defs[m].kind == METRIC_RATIO) {
		if (x[1] > x[0])
			return error_set(CRATIS_EINVAL, "conversions %g above exposures %g", x[1], x[0]);
		a->exposures = x[0];
		a->conversions = x[1];
		if (m == 0 || set->exposures[v] < x[0])
			set->exposures[v] = x[0];
	} else {
		if (!isfinite(x[1]))
			return error_set(CRATIS_EINVAL, "a non-finite sum %g", x[1]);
		a->n = x[0];
		a->sum = x[1];
		a->sumsq = x[2];
	}
	return 0;
}

int prom_read(struct metric_set *set, const struct prom_source *src)
{
	metric_set_clear(set);
	for (size_t m = 0; m < set->n_metrics; m++) {
		const char *q[3];
		size_t nq = def_sources(&set->defs[m], q);
		if (nq == 0)
			return error_set(CRATIS_EINVAL, "metric '%s' has no queries", set->defs[m].name);
		for (size_t v = 0; v < set->n_variants; v++) {
			double x[3] = { 0, 0, 0 };
			int rc = 0;
			for (size_t i = 0; i < nq && rc == 0; i++) {
				char *query = metrics_interpolate(q[i], set->variants[v]);
				rc = prom_query(&x[i], src, query);
				free(query);
			}
			if (rc == 0)
				rc = set_totals(set, m, v, x);
			if (rc != 0)
				return error_prefix("metric '%s', variant '%s'", set->defs[m].name,
				                    set->variants[v]);
		}
	}
	return 0;
}

int command_read(struct metric_set *set, const char *const *argv, int timeout_ms)
{
	if (!argv || !argv[0])
		return error_set(CRATIS_EINVAL, "the metrics command is empty");
	struct proc_spec spec = { .argv = argv, .timeout_ms = timeout_ms > 0 ? timeout_ms : 30000,
	                          .out_cap = 4u << 20 };
	struct proc_result r;
	int rc = proc_run(&spec, &r);
	if (rc != 0) {
		error_prefix("metrics command '%s'", argv[0]);
		goto out_release;
	}
	if (r.timed_out || r.exit_code != 0) {
		size_t n = r.err.len;
		while (n > 0 && r.err.ptr[n - 1] == '\n')
			n--;
		rc = error_set(CRATIS_EIO, "metrics command '%s' %s%s%.*s", argv[0],
		               r.timed_out ? "timed out" : "failed",
		               n ? ": " : "", (int)n, r.err.ptr);
		if (!r.timed_out)
			error_prefix("exit status %d", r.exit_code);
		goto out_release;
	}
	if (r.out_truncated) {
		rc = error_set(CRATIS_EINVAL, "metrics command '%s': output above 4 MiB", argv[0]);
		goto out_release;
	}
	json_error_t jerr;
	json_t *j = json_loadb(r.out.ptr, r.out.len, 0, &jerr);
	if (!json_is_object(j)) {
		rc = error_set(CRATIS_EINVAL, "metrics command '%s': expected a JSON object "
		               "{\"VARIANT\": {\"KEY\": number}} on stdout, got %s%s", argv[0],
		               j ? "another JSON value" : "invalid JSON: ", j ? "" : jerr.text);
		json_decref(j);
		goto out_release;
	}
	metric_set_clear(set);
	for (size_t m = 0; m < set->n_metrics && rc == 0; m++) {
		const char *keys[3];
		size_t nk = def_sources(&set->defs[m], keys);
		if (nk == 0) {
			rc = error_set(CRATIS_EINVAL, "metric '%s' names no keys of the command's output",
			               set->defs[m].name);
			break;
		}
		for (size_t v = 0; v < set->n_variants && rc == 0; v++) {
			json_t *obj = json_object_get(j, set->variants[v]);
			if (!json_is_object(obj)) {
				rc = error_set(CRATIS_EINVAL, "metrics command '%s': variant '%s' %s", argv[0],
				               set->variants[v], obj ? "is not an object" : "is missing");
				break;
			}
			double x[3] = { 0, 0, 0 };
			for (size_t i = 0; i < nk && rc == 0; i++) {
				json_t *n = json_object_get(obj, keys[i]);
				if (!json_is_number(n))
					rc = error_set(CRATIS_EINVAL, "metrics command '%s': variant '%s': key '%s' "
					               "%s", argv[0], set->variants[v], keys[i],
					               n ? "is not a number" : "is missing");
				else
					x[i] = json_number_value(n);
			}
			if (rc == 0 && (rc = set_totals(set, m, v, x)) != 0)
				error_prefix("metrics command '%s': metric '%s', variant '%s'", argv[0],
				             set->defs[m].name, set->variants[v]);
		}
	}
	json_decref(j);
out_release:
	proc_result_release(&r);
	return rc;
}
