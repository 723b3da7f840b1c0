/* -target: which items of a plan a targeted run keeps (see engine.h, docs/plan-format.md). */
#define _GNU_SOURCE
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "engine/graph.h"
#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

/* Whether address ("Kind/name" or "project/Kind/name") names project's resource id. */
static bool address_is(const char *address, const char *project, const char *id)
{
	if (!strcmp(address, id))
		return true;
	size_t n = strlen(project);
	return !strncmp(address, project, n) && address[n] == '/' && !strcmp(address + n + 1, id);
}

/* An unknown target: an error with the closest known address as a hint. */
static void unknown_target(struct diags *errors, const char *address, const struct model *m, const struct state_rows *rows,
                           const char *env)
{
	struct diag *dg = *env ? diags_errorf(errors, CRATIS_ENOTFOUND, "-target: no resource '%s' in the manifests or the state of environment '%s'", address, env)
	                       : diags_errorf(errors, CRATIS_ENOTFOUND, "-target: no resource '%s' in the manifests or the recorded state", address);
	size_t n = m->nresources + rows->n;
	const char **cands = xcalloc(n + 1, sizeof(*cands));
	for (size_t i = 0; i < n; i++)
		cands[i] = i < m->nresources ? m->resources[i]->id : rows->v[i - m->nresources].id;
	const char *best = model_suggest(address, cands, n);
	free(cands);
	if (best) {
		diag_hint(dg, "did you mean '%s'?", best);
	} else {
		struct buf b = BUF_INIT;
		for (size_t i = 0; i < m->nresources && i < 10; i++)
			buf_addf(&b, "%s%s", i ? ", " : "", m->resources[i]->id);
		if (m->nresources > 10)
			buf_adds(&b, ", ...");
		diag_hint(dg, "addresses are Kind/name or project/Kind/name%s%s", b.len ? "; the manifests define " : "", b.ptr);
		buf_release(&b);
	}
}

static void keep_deps(bool *keep, const struct graph *g, size_t i)
{
	if (keep[i])
		return;
	keep[i] = true;
	for (size_t d = 0; d < g->ndeps[i]; d++)
		keep_deps(keep, g, g->deps[i][d]);
}

/* Which resources (keep_res, per model resource) and recorded rows (keep_row, per row) a plan
 * limited to targets covers: for a plan, the targets and what they depend on, and a recorded
 * target that is no longer desired (its delete); for a destroy, the recorded targets and every
 * recorded resource that depends on them. Unknown addresses are errors (CRATIS_ENOTFOUND). */
int select_targets(const struct plan *p, const struct model *m, const struct graph *g, const char *const *targets,
                          size_t ntargets, bool destroy, bool *keep_res, bool *keep_row, struct diags *errors)
{
	int rc = CRATIS_OK;
	for (size_t t = 0; t < ntargets; t++) {
		bool found = false;
		for (size_t i = 0; i < m->nresources; i++) {
			if (!address_is(targets[t], m->resources[i]->project, m->resources[i]->id))
				continue;
			found = true;
			if (!destroy)
				keep_deps(keep_res, g, i);
		}
		for (size_t j = 0; j < p->rows.n; j++) {
			if (!address_is(targets[t], p->rows.v[j].project, p->rows.v[j].id))
				continue;
			found = true;
			keep_row[j] = true;
		}
		if (!found) {
			unknown_target(errors, targets[t], m, &p->rows, p->environment);
			rc = CRATIS_ENOTFOUND;
		}
	}
	/* a destroy takes what depends on a destroyed resource with it */
	for (bool more = destroy; more;) {
		more = false;
		for (size_t j = 0; j < p->rows.n; j++) {
			if (keep_row[j] || !p->rows.v[j].deps)
				continue;
			json_t *deps = json_loads(p->rows.v[j].deps, 0, NULL);
			for (size_t k = 0; !keep_row[j] && k < json_array_size(deps); k++) {
				const char *dep = json_string_value(json_array_get(deps, k));
				for (size_t x = 0; dep && x < p->rows.n; x++)
					if (keep_row[x] && !strcmp(p->rows.v[x].id, dep) && !strcmp(p->rows.v[x].project, p->rows.v[j].project))
						keep_row[j] = more = true;
			}
			json_decref(deps);
		}
	}
	return rc;
}

/* A saved plan's list (resources or prior_state) by "project:address"; keys owned by keys. */

