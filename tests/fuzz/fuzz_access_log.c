/* libFuzzer target: access-log lines of the experiment metrics provider (src/experiment/
 * metrics_nginx.c). Each input line is parsed and counted into a set of three variants with a
 * ratio, a per-request mean with a reservoir and a per-user sum; the counts must stay consistent
 * (conversions never above exposures, the reservoir within its size). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/metrics.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct metric_set *the_set(void)
{
	static struct metric_set set;
	static int ready;
	if (ready)
		return &set;
	const char *defs_json[] = {
		"{\"name\":\"buy\",\"kind\":\"ratio\",\"exposure\":\"/*\",\"conversion\":\"/b[u]y\"}",
		"{\"name\":\"rt\",\"kind\":\"mean\",\"reservoir\":4}",
		"{\"name\":\"rev\",\"kind\":\"mean\",\"field\":\"revenue\",\"aggregate\":\"user-sum\"}",
	};
	struct metric_def defs[3];
	struct diags d = DIAGS_INIT;
	for (size_t i = 0; i < 3; i++) {
		json_t *j = json_loads(defs_json[i], 0, NULL);
		if (metric_def_from_json(&defs[i], j, "m", &d) != 0)
			abort();
		json_decref(j);
	}
	const char *variants[] = { "a", "b", "c" };
	if (metric_set_init(&set, variants, 3, defs, 3) != 0)
		abort();
	diags_release(&d);
	ready = 1;
	return &set;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metric_set *set = the_set();
	const char *p = (const char *)data, *end = p + size;
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct metric_request req;
		if (nginx_log_parse_line(&req, p, n))
			metric_set_add_request(set, &req, p, n);
		double x;
		nginx_log_number(&x, p, n, "revenue");
		if (!nl)
			break;
		p = nl + 1;
	}
	for (size_t v = 0; v < set->n_variants; v++) {
		if (set->acc[0][v].conversions > set->acc[0][v].exposures ||
		    set->acc[0][v].exposures > set->exposures[v] || set->acc[1][v].n_values > 4)
			abort();
		struct decide_sample s;
		metric_set_sample(&s, set, 2, v);
	}
	metric_set_clear(set);
	return 0;
}
