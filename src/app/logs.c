/* Application layer: where the processes of Services and of a Rollout's releases write their
 * output (`cratis logs`). Reads recorded state only: no lock, no plugin call. */
#define _GNU_SOURCE
#include "app.h"

#include <stdlib.h>
#include <string.h>

#include "model/schema.h"
#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

/* The recorded Service or Rollout closest to address ("did you mean"), or NULL. */
static const char *closest(const struct state_rows *rows, const char *id)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (size_t i = 0; i < rows->n; i++) {
		const char *c = rows->v[i].id;
		if (strncmp(c, "Service/", 8) && strncmp(c, "Rollout/", 8))
			continue;
		size_t dist = schema_distance(id, c, 2);
		if (dist < best_d) {
			best_d = dist;
			best = c;
		}
	}
	return best;
}

int app_log_file(struct app *a, const char *env, const char *address, const char *release, char **out,
                 struct diags *d)
{
	*out = NULL;
	const char *e = env ? env : "";
	/* "Kind/name" or "project/Kind/name" */
	const char *first = strchr(address, '/'), *second = first ? strchr(first + 1, '/') : NULL;
	char *project = second ? xstrndup(address, (size_t)(first - address)) : NULL;
	const char *id = second ? first + 1 : address;
	bool service = !strncmp(id, "Service/", 8), rollout = !strncmp(id, "Rollout/", 8);
	struct state_rows rows = { 0 };
	struct diag *dg;
	char *statedir = NULL;
	int rc = CRATIS_OK;
	if (!first || !first[1] || (!service && !rollout) || strchr(id + 8, '/')) {
		rc = CRATIS_EINVAL;
		dg = diags_errorf(d, rc, "'%s' is not the address of a Service or a Rollout", address);
		diag_hint(dg, "give Service/NAME or Rollout/NAME (or PROJECT/Service/NAME)");
		goto out_release;
	}
	if (release && strcmp(release, "current") && strcmp(release, "preview")) {
		rc = CRATIS_EINVAL;
		dg = diags_errorf(d, rc, "--release: expected 'current' or 'preview', not '%s'", release);
		goto out_release;
	}
	if (release && !rollout) {
		rc = CRATIS_EINVAL;
		diags_errorf(d, rc, "--release applies to a Rollout, not to '%s'", address);
		goto out_release;
	}
	if (store_list(a->store, e, project, &rows)) {
		rc = diags_add_last_error(d);
		goto out_release;
	}
	const struct state_row *row = NULL;
	size_t found = 0;
	for (size_t i = 0; i < rows.n; i++) {
		if (!strcmp(rows.v[i].id, id)) {
			row = row ? row : &rows.v[i];
			found++;
		}
	}
	if (!row) {
		rc = CRATIS_ENOTFOUND;
		if (*e)
			dg = diags_errorf(d, rc, "no %s is recorded in environment '%s'", address, e);
		else
			dg = diags_errorf(d, rc, "no %s is recorded", address);
		const char *hint = closest(&rows, id);
		if (hint)
			diag_hint(dg, "did you mean '%s'?", hint);
		else
			diag_hint(dg, "`cratis state list` shows what is recorded; a resource has logs once it has been applied");
		goto out_release;
	}
	if (found > 1) {
		rc = CRATIS_EINVAL;
		dg = diags_errorf(d, rc, "several projects record %s", id);
		diag_hint(dg, "name it as %s/%s", row->project, id);
		goto out_release;
	}
	if ((rc = engine_statedir(&statedir, a->state_dir, e, row->project, row->id))) {
		rc = diags_add_last_error(d);
		goto out_release;
	}
	if (service) {
		*out = xasprintf("%s/log", statedir);
		goto out_release;
	}
	struct releases rels;
	const char *rollout_name = id + 8;
	if (store_releases(a->store, e, row->project, rollout_name, &rels)) {
		rc = diags_add_last_error(d);
		goto out_release;
	}
	const char *want = release && !strcmp(release, "preview") ? "preview" : "active";
	for (size_t i = rels.n; i-- > 0 && !*out;)
		if (!strcmp(rels.v[i].status, want))
			*out = xasprintf("%s/releases/%s/log", statedir, rels.v[i].id);
	store_releases_release(&rels);
	if (!*out) {
		rc = CRATIS_ENOTFOUND;
		dg = diags_errorf(d, rc, "rollout '%s' has no %s release", rollout_name, !strcmp(want, "active") ? "current" : "preview");
		diag_hint(dg, "`cratis rollout status %s` lists its releases", rollout_name);
	}
out_release:
	free(statedir);
	free(project);
	store_rows_release(&rows);
	return rc;
}
