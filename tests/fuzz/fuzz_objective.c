/* libFuzzer target: composite objective expressions (src/experiment/objective.c). Each input is
 * an expression compiled over three metrics (a mean, a ratio, a ratio whose name is not a Lua
 * name) in the Lua sandbox, then estimated for one variant; compile and estimate return 0 or
 * CRATIS_EINVAL with one diagnostic at the field, and an estimate with data has a finite value
 * and a finite, non-negative standard error. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/objective.h"
#include "util/error.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *expr = xcalloc(size + 1, 1);
	memcpy(expr, data, size);
	struct objective_metric ms[] = {
		{ "revenue", DECIDE_MEAN, { 500, 0, 40, 100 } },
		{ "buy", DECIDE_RATIO, { 2000, 500, 0, 0 } },
		{ "error-rate", DECIDE_RATIO, { 2000, 20, 0, 0 } },
	};
	struct diags d = DIAGS_INIT;
	struct objective *o = NULL;
	int rc = objective_compile(&o, expr, ms, 3, NULL, &d);
	if (rc != 0 && rc != CRATIS_EINVAL)
		abort();
	if ((rc != 0) != (o == NULL) || (rc && (d.n != 1 || strcmp(d.v[0].field, OBJECTIVE_FIELD))))
		abort();
	if (o) {
		struct objective_estimate e;
		rc = objective_estimate(&e, o, ms, 3, "b", &d);
		if (rc != 0 && rc != CRATIS_EINVAL)
			abort();
		if (!rc && e.has_data && (!isfinite(e.value) || !isfinite(e.se) || e.se < 0))
			abort();
		objective_free(o);
	}
	diags_release(&d);
	free(expr);
	return 0;
}
