/* Application layer: state surgery (`cratis state rm|mv`) and opening a project from its state
 * alone (`cratis destroy` when the manifests are gone or invalid). See app.h. */
#define _GNU_SOURCE
#include "app.h"
#include "app_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

/* The row of rows that address names: "Kind/name" (one project must record it) or
 * "project/Kind/name". Errors in d: CRATIS_ENOTFOUND (with a did-you-mean hint), CRATIS_EINVAL
 * (ambiguous). */
static int find_row(struct state_rows *rows, const char *env, const char *address, struct state_row **out,
                    struct diags *d)
{
	*out = NULL;
	size_t hits = 0;
	const char **cands = xcalloc(2 * rows->n + 1, sizeof(*cands));
	char **owned = xcalloc(rows->n + 1, sizeof(*owned));
	for (size_t i = 0; i < rows->n; i++) {
		owned[i] = xasprintf("%s/%s", rows->v[i].project, rows->v[i].id);
		cands[2 * i] = owned[i];
		cands[2 * i + 1] = rows->v[i].id;
		if (!strcmp(owned[i], address) || !strcmp(rows->v[i].id, address)) {
			*out = &rows->v[i];
			hits++;
		}
	}
	int rc = CRATIS_OK;
	if (!hits) {
		rc = CRATIS_ENOTFOUND;
		struct diag *dg = diags_errorf(d, rc, "no resource '%s' recorded in environment '%s'", address, env);
		const char *best = model_suggest(address, cands, 2 * rows->n);
		if (best)
			diag_hint(dg, "did you mean '%s'?", best);
		else
			diag_hint(dg, "`cratis state list --env %s` lists what is recorded", env);
	} else if (hits > 1) {
		rc = CRATIS_EINVAL;
		diags_errorf(d, rc, "'%s' is recorded in several projects; name one as PROJECT/%s", address, address);
		*out = NULL;
	}
	for (size_t i = 0; i < rows->n; i++)
		free(owned[i]);
	free(owned);
	free(cands);
	return rc;
}

/* Refuse a pending row: a run was interrupted while changing it, so what exists is unknown. */
static int not_pending(const struct state_row *r, const char *env, const char *verb, struct diags *d)
{
	if (strcmp(r->status, "pending"))
		return CRATIS_OK;
	struct diag *dg = diags_errorf(d, CRATIS_EINVAL, "refusing to %s %s/%s in environment '%s': it is pending (a run was interrupted while changing it)",
	                               verb, r->project, r->id, env);
	diag_hint(dg, "run `cratis apply --env %s` to settle it first", env);
	return CRATIS_EINVAL;
}

/* A surgery run: env's lock, its rows, and a deployment that records the steps. */
struct surgery {
	struct app *a;
	const char *env;
	const char *saved_env;
	struct run_lock lock;
	bool locked;
	struct state_rows rows;
	struct deployment dep;
	char started[32];
	size_t done, failed;
};

/* True when child c's parent (the first of its deps: "Rollout/NAME") is id. */
static bool child_parent_is(const struct state_row *c, const char *id)
{
	json_t *deps = c->deps ? json_loads(c->deps, 0, NULL) : NULL;
	const char *p = json_string_value(json_array_get(deps, 0));
	bool yes = p && !strcmp(p, id);
	json_decref(deps);
	return yes;
}

/* True when the parent of child c is among the n rows of pick. */
static bool child_of_named(const struct state_row *c, struct state_row *const *pick, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (pick[k] && !pick[k]->owner && !strcmp(pick[k]->project, c->project) && child_parent_is(c, pick[k]->id))
			return true;
	return false;
}

static int surgery_begin(struct surgery *s, struct app *a, const char *env, struct diags *d)
{
	memset(s, 0, sizeof(*s));
	s->a = a;
	s->env = env;
	s->saved_env = a->model.env_name;
	a->model.env_name = env; /* the lock's environment */
	int rc = app_lock_take(a, &s->lock, d);
	if (rc)
		return rc;
	s->locked = true;
	if (store_list(a->store, env, NULL, &s->rows))
		return diags_add_last_error(d);
	return CRATIS_OK;
}

static int surgery_record(struct surgery *s, const char *project, struct diags *d)
{
	now_rfc3339(s->started);
	s->dep = (struct deployment){ .project = (char *)project, .environment = (char *)s->env,
	                              .command = (char *)or_empty(s->a->o.command_line), .user = (char *)user_name(),
	                              .host = (char *)host_name(), .started = s->started };
	if (engine_deployment_begin(s->a->store, &s->dep))
		return diags_add_last_error(d);
	return CRATIS_OK;
}

static int surgery_end(struct surgery *s, const char *what, int rc, struct diags *d)
{
	if (s->dep.id) {
		char finished[32];
		now_rfc3339(finished);
		char *summary = xasprintf("%zu %s, %zu failed", s->done, what, s->failed);
		s->dep.finished = finished;
		s->dep.result = rc ? "failed" : "succeeded";
		s->dep.summary = summary;
		if (engine_deployment_finish(s->a->store, &s->dep, NULL) && !rc)
			rc = diags_add_last_error(d);
		free(summary);
	}
	if (s->locked && app_lock_release(s->a, &s->lock, d) && !rc)
		rc = CRATIS_ERROR;
	store_rows_release(&s->rows);
	s->a->model.env_name = s->saved_env;
	return rc;
}

int app_state_rm(struct app *a, const char *env, const char *const *addresses, size_t n, json_t **removed,
                 struct diags *d)
{
	*removed = NULL;
	struct surgery s;
	struct state_row **pick = xcalloc(n + 1, sizeof(*pick));
	int rc = surgery_begin(&s, a, env, d);
	if (rc)
		goto out_end;
	/* every address checked before anything changes */
	for (size_t i = 0; i < n; i++) {
		int r = find_row(&s.rows, env, addresses[i], &pick[i], d);
		if (!r)
			r = not_pending(pick[i], env, "forget", d);
		for (size_t k = 0; !r && k < i; k++)
			if (pick[k] == pick[i])
				pick[i] = NULL; /* named twice */
		rc = rc ? rc : r;
	}
	/* children (a Rollout's releases and Route, projected from its release rows) go with their
	 * owner: neither alone, nor an owner without every one of its children named */
	for (size_t i = 0; !rc && i < n; i++) {
		struct state_row *r = pick[i];
		if (!r)
			continue;
		for (size_t j = 0; !rc && j < s.rows.n; j++) {
			struct state_row *c = &s.rows.v[j];
			bool named = false;
			for (size_t k = 0; k < n; k++)
				named |= pick[k] == c;
			if (c == r && c->owner && !child_of_named(c, pick, n)) {
				rc = CRATIS_EINVAL;
				struct diag *dg = diags_errorf(d, rc, "state rm: %s/%s is a child resource of %s (one of its releases or its Route): it cannot be forgotten on its own",
				                               c->project, c->id, c->owner);
				diag_hint(dg, "it is removed with its owner: `cratis state rm %s` with its children, or by the owner's apply and destroy", c->owner);
			} else if (!r->owner && c->owner && !strcmp(c->project, r->project) && child_parent_is(c, r->id) && !named) {
				rc = CRATIS_EINVAL;
				struct diag *dg = diags_errorf(d, rc, "state rm: %s/%s has child resources (%s/%s, ...): refusing to forget it while they exist",
				                               r->project, r->id, c->project, c->id);
				diag_hint(dg, "name its children too to forget them with it (`cratis state list` shows them, owned by %s), or `cratis destroy -target %s`", r->id, r->id);
			}
		}
	}
	if (rc)
		goto out_end;
	const char *project = NULL;
	for (size_t i = 0; i < n && !project; i++)
		project = pick[i] ? pick[i]->project : NULL;
	if ((rc = surgery_record(&s, project, d)))
		goto out_end;
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		if (!pick[i])
			continue;
		char at[32];
		now_rfc3339(at);
		if (pick[i]->owner) {
			/* a projection of its owner's release rows: it goes with the owner's row */
			s.done++;
			char *full = xasprintf("%s/%s", pick[i]->project, pick[i]->id);
			json_array_append_new(list, json_string(full));
			free(full);
			continue;
		}
		struct step st = { .resource = pick[i]->id, .action = "forget", .result = "ok",
		                   .message = "removed from state; the resource itself was left as it is", .started = at, .finished = at };
		if (store_remove(a->store, env, pick[i]->project, pick[i]->id, &st, s.dep.id)) {
			rc = diags_add_last_error(d);
			s.failed++;
			break;
		}
		s.done++;
		char *full = xasprintf("%s/%s", pick[i]->project, pick[i]->id);
		json_array_append_new(list, json_string(full));
		free(full);
	}
	*removed = list;
out_end:
	rc = surgery_end(&s, "forgotten", rc, d);
	free(pick);
	return rc;
}

int app_state_mv(struct app *a, const char *env, const char *from, const char *to, json_t **moved, struct diags *d)
{
	*moved = NULL;
	struct surgery s;
	char *new_id = NULL, *old_dir = NULL, *new_dir = NULL;
	int rc = surgery_begin(&s, a, env, d);
	if (rc)
		goto out_end;
	struct state_row *r;
	if ((rc = find_row(&s.rows, env, from, &r, d)) || (rc = not_pending(r, env, "move", d)))
		goto out_end;
	for (size_t j = 0; j < s.rows.n; j++) {
		struct state_row *c = &s.rows.v[j];
		if (c->owner && (c == r || (!strcmp(c->project, r->project) && child_parent_is(c, r->id)))) {
			rc = CRATIS_EINVAL;
			diags_errorf(d, rc, c == r ? "state mv: %s/%s is a child resource of %s: it is named by its owner and cannot be moved"
			                           : "state mv: %s/%s has child resources (%s/%s, ...): its releases are recorded under its name; refusing to move it",
			             r->project, r->id, c == r ? c->owner : c->project, c == r ? "" : c->id);
			goto out_end;
		}
	}
	/* NEW: Kind/name or project/Kind/name, of the same project and kind */
	const char *to_id = to;
	const char *first = strchr(to, '/');
	if (first && strchr(first + 1, '/')) {
		if (strncmp(to, r->project, (size_t)(first - to)) || strlen(r->project) != (size_t)(first - to)) {
			rc = CRATIS_EINVAL;
			diags_errorf(d, rc, "state mv: '%s' is in another project than %s/%s; a resource moves within its project", to,
			             r->project, r->id);
			goto out_end;
		}
		to_id = first + 1;
	}
	const char *slash = strchr(to_id, '/');
	size_t klen = strcspn(r->id, "/");
	if (!slash || (size_t)(slash - to_id) != klen || strncmp(to_id, r->id, klen)) {
		rc = CRATIS_EINVAL;
		diags_errorf(d, rc, "state mv: '%s' is not an address of the same kind as %s (expected %.*s/NAME)", to, r->id, (int)klen, r->id);
		goto out_end;
	}
	if (!model_name_valid(slash + 1)) {
		rc = CRATIS_EINVAL;
		diags_errorf(d, rc, "state mv: invalid name '%s': expected a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
		             slash + 1);
		goto out_end;
	}
	new_id = xstrdup(to_id);
	if (!strcmp(new_id, r->id)) {
		rc = CRATIS_EINVAL;
		diags_errorf(d, rc, "state mv: %s and %s are the same address", from, to);
		goto out_end;
	}
	if (store_rows_find(&s.rows, r->project, new_id)) {
		rc = CRATIS_EEXISTS;
		struct diag *dg = diags_errorf(d, rc, "state mv: %s/%s is already recorded in environment '%s'", r->project, new_id, env);
		diag_hint(dg, "`cratis state rm %s/%s` first if that record is stale", r->project, new_id);
		goto out_end;
	}
	if ((rc = surgery_record(&s, r->project, d)))
		goto out_end;
	char at[32];
	now_rfc3339(at);
	char *msg = xasprintf("moved to %s (the resource itself was left as it is)", new_id);
	struct step st = { .resource = r->id, .action = "move", .result = "ok", .message = msg, .started = at, .finished = at };
	rc = store_rename(a->store, env, r->project, r->id, new_id, &st, s.dep.id);
	free(msg);
	if (rc) {
		rc = diags_add_last_error(d);
		s.failed++;
		goto out_end;
	}
	s.done++;
	/* the plugin's own directory (pidfiles, logs) goes with the record */
	if (!engine_statedir(&old_dir, a->state_dir, env, r->project, r->id) &&
	    !engine_statedir(&new_dir, a->state_dir, env, r->project, new_id) && is_dir(old_dir)) {
		char *parent = xstrdup(new_dir);
		*strrchr(parent, '/') = '\0';
		if (mkdir_p(parent) < 0 || rename(old_dir, new_dir) < 0)
			diags_add(d, DIAG_WARNING, CRATIS_EIO, "state mv: cannot move '%s' to '%s': %s; its plugin may not find its files",
			          old_dir, new_dir, strerror(errno));
		free(parent);
	}
	*moved = json_pack("{s:s,s:s,s:s}", "project", r->project, "from", r->id, "to", new_id);
out_end:
	rc = surgery_end(&s, "moved", rc, d);
	free(new_id);
	free(old_dir);
	free(new_dir);
	return rc;
}

int app_open_state_only(struct app **out, const struct app_options *o, struct diags *d)
{
	int rc = app_open(out, o, APP_LOAD_PLUGINS, d);
	if (rc)
		return rc;
	struct app *a = *out;
	if ((rc = app_state_env(a, o->env, &a->state_only_env, d))) {
		app_close(a);
		*out = NULL;
		return rc;
	}
	a->model.state_only = true;
	a->model.env_name = a->state_only_env;
	if (!a->artifacts)
		a->artifacts = json_object();
	return CRATIS_OK;
}

int app_state_migrate(struct app *a, const char *to_url, json_t **out, struct diags *d)
{
	*out = NULL;
	struct store *to = NULL;
	struct store_migrate_report rep;
	int rc = store_open(&to, to_url);
	if (rc) {
		diags_add_last_error(d);
		return rc;
	}
	rc = store_migrate(a->store, to, &rep);
	if (rc) {
		struct diag *dg = diags_errorf(d, rc, "%s", cratis_error_last()->message);
		if (rc == CRATIS_EEXISTS)
			diag_hint(dg, "migrate into an empty store: a new database or file, or another schema "
			                   "(postgres://...?schema=NAME); cratis never merges two states");
		else if (rc == CRATIS_ELOCKED)
			diag_hint(dg, "`cratis state list` names the holder");
		goto out_close;
	}
	json_t *tables = json_array();
	for (int k = 0; k < STORE_T__COUNT; k++)
		json_array_append_new(tables, json_pack("{s:s, s:I, s:s}", "name", rep.t[k].name, "rows",
		                                        (json_int_t)rep.t[k].target_rows, "sha256", rep.t[k].target_sha256));
	*out = json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}", "from", a->store->path, "from_backend", store_backend_name(a->store),
	                 "to", to->path, "to_backend", store_backend_name(to), "tables", tables, "verified", 1);
out_close:
	store_close(to);
	return rc;
}
