/* Test and bench driver for the metrics providers (src/experiment/metrics.h): reads a provider
 * configuration (JSON), collects once, prints the set as JSON; with --decide also runs one
 * decide_tick on the first metric (the first variant is the control, equal weights) and prints
 * its verdict. Used by tests/e2e/metrics_*.sh and bench/experiment_metrics.sh.
 * nginx: --then CMD (repeatable) runs CMD with sh after a read, then reads what the log gained
 * (the same incremental reader: rotation and truncation between reads are followed).
 * Usage: metrics_read CONFIG.json [--decide] [--then CMD]...
 *        metrics_read --log-format     (prints METRICS_NGINX_LOG_FORMAT)
 *   {"provider": "nginx" | "prometheus" | "command", "path": LOG, "url": URL, "argv": [...],
 *    "variants": ["a", "b"], "metrics": [metric definitions]} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/metrics.h"
#include "util/error.h"

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--log-format") == 0) {
		puts(METRICS_NGINX_LOG_FORMAT);
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: metrics_read CONFIG.json [--decide]\n");
		return 2;
	}
	bool decide = false;
	const char *then[16];
	size_t n_then = 0;
	for (int a = 2; a < argc; a++) {
		if (strcmp(argv[a], "--decide") == 0)
			decide = true;
		else if (strcmp(argv[a], "--then") == 0 && a + 1 < argc && n_then < 16)
			then[n_then++] = argv[++a];
	}
	json_error_t jerr;
	json_t *cfg = json_load_file(argv[1], 0, &jerr);
	if (!cfg) {
		fprintf(stderr, "%s:%d:%d: %s\n", argv[1], jerr.line, jerr.column, jerr.text);
		return 2;
	}
	struct diags d = DIAGS_INIT;
	struct metric_def defs[METRICS_MAX_METRICS];
	size_t nd = 0, nv = 0;
	const char *variants[METRICS_MAX_VARIANTS];
	json_t *ms = json_object_get(cfg, "metrics"), *vs = json_object_get(cfg, "variants"), *x;
	size_t i;
	json_array_foreach(vs, i, x) if (nv < METRICS_MAX_VARIANTS) variants[nv++] = json_string_value(x);
	json_array_foreach(ms, i, x) {
		if (nd == METRICS_MAX_METRICS)
			break;
		char where[32];
		snprintf(where, sizeof where, "metrics[%zu]", i);
		if (metric_def_from_json(&defs[nd], x, where, &d) != 0) {
			metric_def_release(&defs[nd]);
			struct buf b = BUF_INIT;
			diag_format(&d.v[0], &b);
			fprintf(stderr, "%s: %s\n", argv[1], b.ptr);
			buf_release(&b);
			for (size_t k = 0; k < nd; k++)
				metric_def_release(&defs[k]);
			diags_release(&d);
			json_decref(cfg);
			return 1;
		}
		nd++;
	}
	struct metric_set set;
	int rc = metric_set_init(&set, variants, nv, defs, nd);
	if (rc != 0)   /* the definitions stay the caller's */
		for (size_t k = 0; k < nd; k++)
			metric_def_release(&defs[k]);
	const char *provider = json_string_value(json_object_get(cfg, "provider"));
	if (rc == 0 && provider && strcmp(provider, "nginx") == 0) {
		struct nginx_log log;
		nginx_log_init(&log, json_string_value(json_object_get(cfg, "path")));
		rc = nginx_log_read(&log, &set);
		for (size_t k = 0; k < n_then && rc == 0; k++) {
			if (system(then[k]) != 0) {
				rc = error_set(CRATIS_ERROR, "'%s' failed", then[k]);
				break;
			}
			rc = nginx_log_read(&log, &set);
		}
		fprintf(stderr, "lines %llu, bad %llu, other variant %llu, rotations %llu\n",
		        (unsigned long long)log.lines, (unsigned long long)log.bad_lines,
		        (unsigned long long)log.other_variant, (unsigned long long)log.rotations);
		nginx_log_release(&log);
	} else if (rc == 0 && provider && strcmp(provider, "prometheus") == 0) {
		struct prom_source src = { .url = json_string_value(json_object_get(cfg, "url")) };
		rc = prom_read(&set, &src);
	} else if (rc == 0 && provider && strcmp(provider, "command") == 0) {
		const char *av[32];
		size_t n = 0;
		json_array_foreach(json_object_get(cfg, "argv"), i, x) if (n < 31) av[n++] = json_string_value(x);
		av[n] = NULL;
		rc = command_read(&set, av, 0);
	} else if (rc == 0) {
		rc = error_set(CRATIS_EINVAL, "provider: expected \"nginx\", \"prometheus\" or \"command\"");
	}
	if (rc != 0) {
		fprintf(stderr, "error: %s\n", cratis_error_last()->message);
		metric_set_release(&set);
		diags_release(&d);
		json_decref(cfg);
		return 1;
	}
	json_t *out = metric_set_to_json(&set);
	if (decide) {
		struct decide_variant_obs obs[METRICS_MAX_VARIANTS];
		memset(obs, 0, sizeof obs);
		for (size_t v = 0; v < set.n_variants; v++) {
			obs[v].name = set.variants[v];
			obs[v].weight = 1;
			obs[v].exposures = set.exposures[v];
			metric_set_sample(&obs[v].objective, &set, 0, v);
		}
		struct decide_config dc = { .metric = set.defs[0].kind == METRIC_RATIO ? DECIDE_RATIO : DECIDE_MEAN,
		                            .mde = 0.1, .max_duration_s = 86400 };
		struct decide_observation o = { .elapsed_s = 3600, .n_variants = set.n_variants,
		                                .variants = obs };
		struct decide_state st;
		struct decide_result res;
		decide_state_init(&st);
		rc = decide_tick(&res, &dc, &o, &st);
		if (rc != 0) {
			fprintf(stderr, "error: %s\n", cratis_error_last()->message);
		} else {
			json_object_set_new(out, "verdict", json_string(decide_verdict_name(res.verdict)));
		}
		decide_result_release(&res);
	}
	char *s = json_dumps(out, JSON_SORT_KEYS | JSON_INDENT(1));
	puts(s);
	free(s);
	json_decref(out);
	json_decref(cfg);
	metric_set_release(&set);
	diags_release(&d);
	return rc == 0 ? 0 : 1;
}
