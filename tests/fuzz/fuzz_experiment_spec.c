/* libFuzzer target: the Experiment spec (src/experiment/controller_spec.c), as a manifest gives
 * it after YAML: any JSON document is parsed and checked; a spec accepted must give consistent
 * indices (the control among the variants, each metric slot within the set) and definitions that
 * parse; the record's base64 decoding must never read past its input, and round-trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/experiment_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	json_t *j = json_loadb(text, size, JSON_DECODE_ANY, NULL);
	struct xp_spec x;
	memset(&x, 0, sizeof(x));
	struct diags d = DIAGS_INIT;
	if (j && xp_spec_parse(&x, j, &d) == 0) {
		if (x.n_variants < 2 || x.control >= x.n_variants || x.n_defs == 0 || x.n_defs > METRICS_MAX_METRICS ||
		    x.objective_metric >= x.n_defs || x.cfg.n_guardrails > DECIDE_MAX_GUARDRAILS || d.n)
			abort();
		for (size_t g = 0; g < x.cfg.n_guardrails; g++)
			if (x.guardrail_metric[g] >= x.n_defs)
				abort();
		struct metric_def defs[METRICS_MAX_METRICS];
		memset(defs, 0, sizeof(defs));
		if (xp_spec_defs(&x, defs))
			abort();
		for (size_t i = 0; i < x.n_defs; i++)
			metric_def_release(&defs[i]);
	}
	xp_spec_release(&x);
	diags_release(&d);
	json_decref(j);
	size_t len;
	unsigned char *bin = xp_b64_decode(text, &len);
	if (bin) {
		char *again = xp_b64_encode(bin, len);
		if (strcmp(again, text))
			abort();
		free(again);
		free(bin);
	}
	free(text);
	return 0;
}
