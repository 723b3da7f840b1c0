/* The application layer's capability use case: render an environment's capabilities for one
 * provider (docs/capabilities.md). */
#define _GNU_SOURCE
#include "app.h"

#include "util/error.h"
#include "banned.h"

int app_render(struct app *a, const char *provider, const char *dir, bool deny_lock_in,
               struct render_result *out, struct diags *d)
{
	render_result_init(out);
	int rc = cap_render(out, &a->caps, &a->model, provider, d);
	if (rc)
		return rc;
	if (deny_lock_in && out->warnings.n) {
		for (size_t i = 0; i < out->warnings.n; i++) {
			out->warnings.v[i].severity = DIAG_ERROR;
			out->warnings.v[i].status = CRATIS_EINVAL;
		}
		diags_move(d, &out->warnings);
		return CRATIS_EINVAL;
	}
	if (dir && cap_render_write(out, dir)) {
		diags_add_last_error(d);
		return CRATIS_EIO;
	}
	return CRATIS_OK;
}
