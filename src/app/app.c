/* Application layer: opening a project, plan/apply/destroy, promotion, rollouts and saved plans
 * (see app.h); the read-only queries are in queries.c. */
#define _GNU_SOURCE
#include "app.h"
#include "app_internal.h"
#include "teams.h"
#include "model/schema.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "experiment/experiment.h"
#include "release/semver.h"
#include "manifest/location.h"
#include "secret/secret.h"
#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

char *app_project_dir(const char *path)
{
	char *abs = abs_path(path);
	if (!abs)
		return NULL;
	if (is_dir(abs))
		return abs;
	char *slash = strrchr(abs, '/');
	char *dir = slash && slash != abs ? xstrndup(abs, (size_t)(slash - abs)) : xstrdup("/");
	free(abs);
	return dir;
}

/* ${artifact:NAME}: the artifact pinned by a promotion, else the newest current digest (or
 * version) recorded for NAME; remembered in a->artifacts for the deployment record. */
static int resolve_artifact(char **out, const char *name, const char *field, void *payload)
{
	struct app *a = payload;
	json_t *pin = json_object_get(a->o.artifact_pins, name);
	if (!pin) {
		struct artifacts arts;
		int rc = store_artifacts(a->store, name, false, &arts);
		if (rc) {
			error_prefix("cannot read artifact '%s'", name);
			return rc;
		}
		if (arts.n)
			pin = json_pack("{s:s,s:s}", "version", arts.v[0].version, "digest", arts.v[0].digest);
		store_artifacts_release(&arts);
		if (!pin)
			return error_set(CRATIS_ENOTFOUND, "no artifact '%s' is recorded (`cratis artifact record %s VERSION DIGEST` after a build)",
			                 name, name);
		json_object_set_new(a->artifacts, name, pin);
	} else {
		json_object_set(a->artifacts, name, pin);
	}
	const char *v = json_string_value(json_object_get(pin, !strcmp(field, "version") ? "version" : "digest"));
	if (!v)
		return error_set(CRATIS_EINVAL, "artifact '%s' has no %s", name, field);
	*out = xstrdup(v);
	return CRATIS_OK;
}

/* ${artifact:NAME} offline: not read from the store, not known before apply. */
static int offline_artifact(char **out, const char *name, const char *field, void *payload)
{
	(void)name;
	(void)field;
	(void)payload;
	*out = xstrdup(KNOWN_AFTER_APPLY);
	return CRATIS_OK;
}

/* Load o's manifest paths and buffers into a->ms; every problem (unreadable path, YAML errors,
 * no manifest at all under first) is appended to errors. */
static void load_manifests(struct app *a, const struct app_options *o, const char *first, struct diags *errors)
{
	for (size_t i = 0; i < o->npaths; i++)
		if (manifest_load_path(&a->ms, o->paths[i]) == CRATIS_EIO) {
			/* the error's own status: a git ref or directory that does not exist is
			 * CRATIS_ENOTFOUND (a server answers 404), a read that failed CRATIS_EIO */
			const struct cratis_error *e = cratis_error_last();
			diags_errorf(errors, e->status == CRATIS_ENOTFOUND ? CRATIS_ENOTFOUND : CRATIS_EIO, "%s", e->message);
		}
	for (size_t i = 0; i < o->nbuffers; i++)
		if (manifest_load_buffer(&a->ms, o->buffers[i].name, o->buffers[i].data, o->buffers[i].len) == CRATIS_ENOMEM)
			diags_errorf(errors, CRATIS_ENOMEM, "%s", cratis_error_last()->message);
	diags_move(errors, &a->ms.errors);
	if (!errors->n && !a->ms.n)
		diags_errorf(errors, CRATIS_EINVAL, "no manifests found in %s (expected *.yaml or *.yml files)", first);
}

/* The URL Project spec.state.url of the loaded manifests names, into *out (borrowed from ms), or
 * NULL when no Project names one. Errors (a value that is not a non-empty string, a ${...}
 * reference, two Projects naming different stores) are appended to errors, located. */
static void project_state_url(const struct manifest_set *ms, const char **out, struct diags *errors)
{
	*out = NULL;
	const struct manifest_doc *first = NULL;
	for (size_t i = 0; i < ms->n; i++) {
		const struct manifest_doc *doc = ms->docs[i];
		const char *kind = json_string_value(json_object_get(doc->root, "kind"));
		if (!kind || strcmp(kind, "Project"))
			continue;
		json_t *v = json_object_get(json_object_get(json_object_get(doc->root, "spec"), "state"), "url");
		if (!v)
			continue;
		const char *url = json_string_value(v);
		if (!url || !*url) {
			manifest_error(errors, doc, "spec.state.url", "expected a state URL (sqlite:PATH, postgres://...), got %s",
			               json_type_phrase(v));
			continue;
		}
		if (strstr(url, "${")) {
			struct diag *dg = manifest_error(errors, doc, "spec.state.url", "references are not expanded in the state URL");
			diag_hint(dg, "keep passwords out of it: libpq reads PGPASSWORD, ~/.pgpass and PGSERVICE; or pass --state / CRATIS_STATE");
			continue;
		}
		if (*out && strcmp(*out, url)) {
			struct loc at;
			manifest_locate(first, "spec.state.url", &at);
			manifest_error(errors, doc, "spec.state.url", "two Projects name different state stores ('%s' at %s:%d)",
			               *out, at.file, at.line);
			continue;
		}
		if (!*out) {
			*out = url;
			first = doc;
		}
	}
}

/* url as Project spec.state.url means it (caller frees): a relative SQLite path ("sqlite:x.db",
 * "sqlite://x.db", or a plain "x.db") is relative to the project directory dir, as the default
 * state is, not to the working directory; every other URL unchanged. */
static char *project_url(const char *url, const char *dir)
{
	const char *path = !strncmp(url, "sqlite://", 9) ? url + 9 : !strncmp(url, "sqlite:", 7) ? url + 7
	                   : strchr(url, ':') ? NULL : url;
	if (!path || path[0] == '/')
		return xstrdup(url);
	return xasprintf("sqlite:%s/%s", dir, path);
}

/* Open a's store. Precedence: o->state_url (--state), $CRATIS_STATE, Project spec.state.url,
 * sqlite:STATE_DIR/state.db (project_url: a relative SQLite path in spec.state.url is relative
 * to the project directory). Project spec.state.url is read from a->ms when manifests were
 * loaded (have_manifests); otherwise from o->paths read here for that field alone, with a note
 * (shown with -v) and the default store when they cannot be read. */
static int open_store(struct app *a, bool have_manifests, struct diags *d)
{
	const struct app_options *o = &a->o;
	const char *su = o->state_url ? o->state_url : getenv("CRATIS_STATE");
	struct manifest_set scan;
	manifest_set_init(&scan);
	scan.cache_dir = a->git_cache;
	struct diags errors = DIAGS_INIT;
	int rc = CRATIS_OK;
	bool from_project = false;
	if (!(su && *su)) {
		const struct manifest_set *ms = &a->ms;
		if (!have_manifests) {
			for (size_t i = 0; i < o->npaths; i++)
				if (manifest_load_path(&scan, o->paths[i]) == CRATIS_EIO)
					diags_errorf(&scan.errors, CRATIS_EIO, "%s", cratis_error_last()->message);
			ms = &scan;
		}
		if (!ms->errors.n)
			project_state_url(ms, &su, &errors);
		from_project = su != NULL;
		if (!have_manifests && (scan.errors.n || errors.n)) {
			const struct diags *why = scan.errors.n ? &scan.errors : &errors;
			struct diag *dg = diags_add(d, DIAG_NOTE, why->v[0].status,
			                            "cannot read Project spec.state.url from the manifests (%s%s%s); using the default state",
			                            why->v[0].file ? why->v[0].file : "", why->v[0].file ? ": " : "", why->v[0].message);
			diag_hint(dg, "pass --state URL or set CRATIS_STATE");
			diags_release(&errors);
			su = NULL;
			from_project = false;
		} else if (errors.n) {
			rc = diags_status(&errors);
			diags_move(d, &errors);
			goto out;
		}
	}
	char *url = from_project ? project_url(su, a->project_dir) : su && *su ? xstrdup(su)
	          : xasprintf("sqlite:%s/state.db", a->state_dir);
	rc = store_open(&a->store, url);
	free(url);
	if (rc)
		diags_add_last_error(d);
out:
	manifest_set_release(&scan);
	return rc;
}

int app_open(struct app **out, const struct app_options *o, enum app_load what, struct diags *d)
{
	*out = NULL;
	struct app *a = xcalloc(1, sizeof(*a));
	a->o = *o;
	a->cancel = o->cancel ? o->cancel : &a->own_cancel;
	manifest_set_init(&a->ms);
	registry_init(&a->reg);
	cap_catalog_init(&a->caps);
	model_init(&a->model);
	int rc = CRATIS_OK;
	const char *first = o->npaths ? o->paths[0] : ".";
	/* a git location (docs/locations.md) is not a directory here: the project is the working one */
	if (!(a->project_dir = app_project_dir(location_is_git(first) ? "." : first))) {
		rc = CRATIS_EIO;
		diags_errorf(d, rc, "cannot read '%s': %s", first, strerror(errno));
		goto out_fail;
	}
	a->git_cache = xasprintf("%s/.cratis/git", a->project_dir);
	a->ms.cache_dir = a->git_cache;
	if (what & APP_LOAD_OFFLINE)
		goto out_load; /* nothing of the state: no directory, no store */
	const char *sd = o->state_dir ? o->state_dir : getenv("CRATIS_STATE_DIR");
	char *want = sd && *sd ? xstrdup(sd) : xasprintf("%s/.cratis", a->project_dir);
	bool fresh = !is_dir(want);
	if (mkdir_p(want) < 0 || (fresh && chmod(want, 0700) < 0)) { /* state is for its owner only */
		rc = CRATIS_EIO;
		diags_errorf(d, rc, "cannot create state directory '%s': %s", want, strerror(errno));
		free(want);
		goto out_fail;
	}
	a->state_dir = abs_path(want);
	free(want);
	if (!a->state_dir) {
		rc = CRATIS_EIO;
		diags_errorf(d, rc, "cannot resolve the state directory: %s", strerror(errno));
		goto out_fail;
	}
out_load:;
	struct diags errors = DIAGS_INIT;
	if (what & APP_LOAD_PLUGINS) {
		registry_default_dirs(&a->reg, a->project_dir);
		registry_load(&a->reg, &errors);
		a->rollout.reg = &a->reg;
		a->rollout.observer = o->observer;
		a->rollout.cancel = a->cancel;
		a->rollout.grace_ms = o->grace_ms;
		rollout_register(&a->reg, &a->rollout, &errors);
		experiment_register(&a->reg, &a->rollout, &errors);
		cap_catalog_default_dirs(&a->caps, a->project_dir);
		if (!cap_catalog_load(&a->caps, &errors))
			cap_catalog_register(&a->caps, &a->reg, &errors);
	}
	bool manifests = (what & APP_LOAD_MANIFESTS) == APP_LOAD_MANIFESTS;
	if (manifests && !errors.n) {
		load_manifests(a, o, first, &errors);
		if (!errors.n)
			app_ensure_plugins(a, &errors); /* Project spec.plugins, installed on first use */
	}
	/* the store: after the manifests, which may name it (Project spec.state.url) */
	if (!(what & APP_LOAD_OFFLINE) && !errors.n) {
		if ((rc = open_store(a, manifests, d)))
			goto out_fail;
		a->rollout.store = a->store;
	}
	if (manifests && !errors.n) {
		a->artifacts = json_object();
		a->model.artifact = (what & APP_LOAD_OFFLINE) ? offline_artifact : resolve_artifact;
		a->model.artifact_payload = a;
		a->model.overrides = o->overrides;
		if (!errors.n && model_build(&a->model, &a->ms, &a->reg, o->env))
			diags_move(&errors, &a->model.errors);
		cap_catalog_bind(&a->caps, &a->model);   /* the capability handlers deploy from it */
	}
	if (errors.n) {
		rc = diags_status(&errors);
		diags_move(d, &errors);
		goto out_fail;
	}
	a->opts.workdir = a->project_dir;
	a->opts.statedir = a->state_dir;
	{
		const char *kf = o->secret_key_file ? o->secret_key_file : getenv("CRATIS_SECRET_KEY_FILE");
		a->opts.secret_key_file = kf && *kf ? kf : NULL;
	}
	a->opts.refresh = o->refresh;
	a->opts.jobs = o->jobs > 0 ? o->jobs : 1;
	a->opts.observer = o->observer;
	a->opts.cancel = a->cancel;
	a->opts.grace_ms = o->grace_ms;
	a->opts.targets = o->targets;
	a->opts.ntargets = o->ntargets;
	*out = a;
	return CRATIS_OK;
out_fail:
	app_close(a);
	return rc ? rc : CRATIS_ERROR;
}

void app_close(struct app *a)
{
	if (!a)
		return;
	model_release(&a->model);
	manifest_set_release(&a->ms);
	registry_release(&a->reg);
	cap_catalog_release(&a->caps);
	store_close(a->store);
	json_decref(a->artifacts);
	free(a->project_dir);
	free(a->git_cache);
	free(a->state_dir);
	free(a->state_only_env);
	free(a);
}

int app_plan(struct app *a, struct plan *out, struct diags *d)
{
	struct diags errors = DIAGS_INIT;
	int rc = plan_build(out, &a->model, a->store, &a->reg, &a->opts, &errors);
	if (rc && !errors.n)
		diags_add_last_error(&errors);
	/* the namespace's quota (src/app/teams.c): a plan over it is refused */
	if (!rc && (rc = app_quota_check(a, out, &errors)))
		plan_release(out);
	diags_move(d, &errors);
	return rc;
}

/* Append src's diagnostics to dst, leaving out those dst already holds (same severity, place and
 * message): a problem of the manifests is found again for every environment. src is emptied. */
static void diags_merge_unique(struct diags *dst, struct diags *src)
{
	struct diags keep = DIAGS_INIT;
	for (size_t i = 0; i < src->n; i++) {
		const struct diag *x = &src->v[i];
		bool dup = false;
		for (size_t j = 0; j < dst->n && !dup; j++) {
			const struct diag *y = &dst->v[j];
			dup = x->severity == y->severity && x->line == y->line && x->column == y->column &&
			      !strcmp(x->message, y->message) && !strcmp(or_empty(x->file), or_empty(y->file)) &&
			      !strcmp(or_empty(x->field), or_empty(y->field));
		}
		if (dup)
			continue;
		struct diag *n = diags_add(&keep, x->severity, x->status, "%s", x->message);
		diag_locate(n, x->file, x->line, x->column, x->field);
		if (x->hint)
			diag_hint(n, "%s", x->hint);
	}
	diags_release(src);
	diags_move(dst, &keep);
}

int app_validate(const struct app_options *o, json_t **summary, struct diags *d)
{
	json_t *envs_done = json_array();
	size_t nres = 0, ndocs = 0;
	struct app *a = NULL;
	struct diags errors = DIAGS_INIT;
	struct app_options oo = *o;
	oo.env = NULL;
	int rc = app_open(&a, &oo, APP_LOAD_PLUGINS | APP_LOAD_OFFLINE, &errors);
	if (rc)
		goto out;
	const char *first = o->npaths ? o->paths[0] : ".";
	load_manifests(a, o, first, &errors);
	ndocs = a->ms.n;
	if (errors.n)
		goto out;
	/* the environments to check: the one asked for, else every one defined (or none) */
	struct strv envs = STRV_INIT;
	if (o->env) {
		strv_push(&envs, o->env);
	} else {
		for (size_t i = 0; i < a->ms.n; i++) {
			const json_t *r = a->ms.docs[i]->root;
			const char *api = json_string_value(json_object_get(r, "apiVersion"));
			const char *kind = json_string_value(json_object_get(r, "kind"));
			const char *name = json_string_value(json_object_get(json_object_get(r, "metadata"), "name"));
			if (api && kind && name && !strcmp(api, CORE_GROUP "/" CORE_VERSION) && !strcmp(kind, "Environment") &&
			    !strv_has(&envs, name))
				strv_push(&envs, name);
		}
	}
	a->model.artifact = offline_artifact;
	a->model.artifact_payload = a;
	for (size_t i = 0; i < (envs.n > 1 ? envs.n : 1); i++) {
		const char *env = envs.n ? envs.v[i] : NULL;
		struct diags one = DIAGS_INIT;
		if (model_build(&a->model, &a->ms, &a->reg, env) == CRATIS_OK) {
			plan_validate(&a->model, &a->reg, &a->opts, &one);
			app_requests_check(&a->model, &one); /* quantities, spec.namespace (teams.c) */
		} else
			diags_move(&one, &a->model.errors);
		if (env)
			json_array_append_new(envs_done, json_string(env));
		nres = a->model.nresources;
		diags_merge_unique(&errors, &one);
	}
	strv_release(&envs);
out:
	if (a)
		diags_move(d, &a->ms.notes);
	rc = diags_errors(&errors) ? diags_status(&errors) : rc;
	diags_move(d, &errors);
	if (summary)
		*summary = json_pack("{s:o,s:I,s:I}", "environments", envs_done, "documents", (json_int_t)ndocs,
		                     "resources", (json_int_t)nres);
	else
		json_decref(envs_done);
	app_close(a);
	return rc;
}

bool app_plan_has_changes(const struct plan *p)
{
	return plan_has_changes(p);
}

void app_plan_release(struct plan *p)
{
	plan_release(p);
}

json_t *app_plan_json(const struct plan *p)
{
	return plan_to_json(p);
}

/* Take the lock of the open environment for this run (holder: pid, host, user, command line),
 * waiting up to o.lock_timeout_ms, and start renewing its lease. CRATIS_ELOCKED names the
 * holder in d. */
static int take_lock(struct app *a, struct run_lock *h, struct diags *d)
{
	struct lock_info *me = &h->me;
	h->keeper = NULL;
	struct lock_info holder;
	memset(me, 0, sizeof(*me));
	me->pid = (long)getpid();
	snprintf(me->environment, sizeof(me->environment), "%s", a->model.env_name ? a->model.env_name : "");
	snprintf(me->host, sizeof(me->host), "%s", host_name());
	snprintf(me->user, sizeof(me->user), "%s", user_name());
	snprintf(me->command, sizeof(me->command), "%s", or_empty(a->o.command_line));
	/* wait for a held lock here rather than in the store, so that Ctrl-C ends the wait */
	int64_t deadline = now_ms() + (a->o.lock_timeout_ms > 0 ? a->o.lock_timeout_ms : 0);
	int rc;
	struct app_lock_event lev; /* lock.taken, written with the lock */
	app_lock_event(a, me->environment, &lev);
	while ((rc = store_lock_ev(a->store, me, 0, &holder, &lev.emits)) == CRATIS_ELOCKED && !*a->cancel && now_ms() < deadline)
		usleep(100000);
	app_lock_event_release(&lev);
	if (rc == CRATIS_ELOCKED && *a->cancel) {
		diags_errorf(d, CRATIS_ERROR, "interrupted while waiting for the lock of environment '%s'", me->environment);
		return CRATIS_ERROR;
	}
	if (rc)
		return diags_add_last_error(d);
	if (holder.id[0]) {
		char exp[32];
		store_format_time(holder.expires, exp);
		struct buf w = BUF_INIT;
		buf_addf(&w, "taking over the lock on environment '%s' left by pid %ld on %s (%s, since %s), %s", holder.environment,
		         holder.pid, holder.host, holder.command, holder.since,
		         !strcmp(holder.host, host_name()) && !store_lock_alive(&holder, store_now(a->store))
		                 ? "which is no longer running" : "whose lease expired");
		if (holder.deployment)
			buf_addf(&w, "; its deployment %lld is closed as interrupted", (long long)holder.deployment);
		if (a->o.observer)
			engine_emit(a->o.observer, &(struct engine_event){ .type = EV_WARNING, .message = w.ptr });
		else
			diags_add(d, DIAG_WARNING, CRATIS_OK, "%s", w.ptr);
		buf_release(&w);
	}
	if (lock_keeper_start(&h->keeper, a->store, me->id, me->lease_ms, a->cancel)) {
		rc = diags_add_last_error(d);
		if (store_unlock(a->store, me->id))
			diags_add(d, DIAG_WARNING, cratis_error_last()->status, "%s", cratis_error_last()->message);
		return rc;
	}
	return CRATIS_OK;
}

/* Stop renewing and release the lock. Returns CRATIS_ERROR when its lease was lost while the run
 * held it (another run may have taken it over: the run did not have the environment to itself). */
static int release_lock(struct app *a, struct run_lock *h, struct diags *d)
{
	int rc = CRATIS_OK;
	if (lock_keeper_stop(h->keeper)) {
		rc = CRATIS_ERROR;
		diags_errorf(d, rc, "the lease of lock %s on environment '%s' could not be renewed: %s; another run may have taken the environment over, so this run stopped starting new work",
		             h->me.id, h->me.environment, cratis_error_last()->message);
	}
	h->keeper = NULL;
	const struct lock_info *me = &h->me;
	int urc = store_unlock(a->store, me->id);
	if (urc == CRATIS_ENOTFOUND && !rc) {
		/* `state unlock --force` (or a takeover) while this run held it */
		rc = CRATIS_ERROR;
		diags_errorf(d, rc, "lock %s on environment '%s' was released by another command while this run held it; this run's deployment is recorded as interrupted",
		             me->id, me->environment);
	} else if (urc && urc != CRATIS_ENOTFOUND) {
		const struct cratis_error *e = cratis_error_last();
		diags_add(d, DIAG_WARNING, e->status, "%s", e->message);
	}
	return rc;
}

/* What this deployment took from outside the manifests, so that it can be promoted: {variables
 * (sensitive ones as their redacted form: not promotable), artifacts, and sources: [{location,
 * ref, commit}] when manifests came from git}; caller owns it. */
static json_t *deployment_inputs(struct app *a, struct secret_store *secrets)
{
	json_t *vars = a->model.env && a->model.env->variables ? json_deep_copy(a->model.env->variables) : json_object();
	for (size_t i = 0; a->model.env && i < a->model.env->sensitive.n; i++) {
		const char *name = a->model.env->sensitive.v[i];
		char *text = json_dumps(json_object_get(vars, name), JSON_COMPACT | JSON_ENCODE_ANY), *red = NULL;
		if (text && secrets && !secret_store_redact(secrets, &red, text, strlen(text)))
			json_object_set_new(vars, name, json_string(red));
		else
			json_object_set_new(vars, name, json_string(SECRET_REDACTED));
		free_wiped(text);
		free(red);
	}
	json_t *in = json_pack("{s:o,s:O}", "variables", vars, "artifacts", a->artifacts ? a->artifacts : json_object());
	/* the git locations the manifests came from, pinned (docs/locations.md) */
	if (json_array_size(a->ms.sources)) {
		json_t *src = json_array();
		size_t i;
		json_t *s;
		json_array_foreach(a->ms.sources, i, s)
			json_array_append_new(src, json_pack("{s:O,s:O,s:O}", "location", json_object_get(s, "location"),
			                                     "ref", json_object_get(s, "ref"), "commit", json_object_get(s, "commit")));
		json_object_set_new(in, "sources", src);
	}
	return in;
}

static int run_apply(struct app *a, bool destroy, const json_t *saved, app_review_fn review, void *payload,
                     struct plan *plan_out, struct app_run *run, struct diags *d);

int app_apply(struct app *a, bool destroy, app_review_fn review, void *payload, struct plan *plan_out,
              struct app_run *run, struct diags *d)
{
	return run_apply(a, destroy, NULL, review, payload, plan_out, run, d);
}

/* app_apply, or with saved the application of that saved plan (app_apply_saved). */
static int run_apply(struct app *a, bool destroy, const json_t *saved, app_review_fn review, void *payload,
                     struct plan *plan_out, struct app_run *run, struct diags *d)
{
	memset(run, 0, sizeof(*run));
	memset(plan_out, 0, sizeof(*plan_out));
	a->opts.destroy = destroy;
	struct run_lock me;
	int rc = take_lock(a, &me, d);
	if (rc) {
		run->cancelled = *a->cancel != 0;
		return rc;
	}
	char *inputs = NULL;
	if (saved) {
		struct diags errors = DIAGS_INIT;
		rc = plan_build_saved(plan_out, &a->model, a->store, &a->reg, &a->opts, saved, &errors);
		if (rc && !errors.n)
			diags_add_last_error(&errors);
		if (!rc)
			rc = app_quota_check(a, plan_out, &errors);
		diags_move(d, &errors);
		if (!rc) {
			/* the inputs recorded with the deployment are those the plan was made with */
			json_t *now = deployment_inputs(a, plan_out->secrets);
			if (!json_equal(now, json_object_get(saved, "inputs"))) {
				rc = CRATIS_EINVAL;
				struct diag *dg = diags_errorf(d, rc, "saved plan is stale: the deployment inputs (variables, artifacts) changed since the plan was made");
				diag_hint(dg, "nothing was changed; run `cratis plan -out FILE` again and apply the new plan");
			}
			json_decref(now);
		}
		if (rc)
			goto out_unlock;
	} else if ((rc = app_plan(a, plan_out, d))) {
		goto out_unlock;
	}
	run->changes = plan_has_changes(plan_out);
	run->approved = review ? review(plan_out, run->changes, payload) : true;
	if (!run->changes || !run->approved)
		goto out_unlock;
	if (*a->cancel) {
		/* interrupted while planning or asking: nothing has started */
		run->cancelled = true;
		rc = CRATIS_ERROR;
		goto out_unlock;
	}
	const char *project = a->model.nprojects ? a->model.projects[0].name : "default";
	/* what this deployment took from outside the manifests, so that it can be promoted */
	json_t *in = deployment_inputs(a, plan_out->secrets);
	inputs = json_dumps(in, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(in);
	rc = plan_apply(plan_out, a->store, &a->opts, a->o.command_line, project, destroy ? NULL : inputs, &run->counts);
	run->cancelled = *a->cancel != 0;
	if (rc && rc != CRATIS_ERROR)
		diags_add_last_error(d);
	/* which namespace these projects now hold resources in, for other projects' quota checks */
	if (app_namespace_bind(a, destroy, d) && !rc)
		rc = CRATIS_EIO;
out_unlock:
	if (release_lock(a, &me, d) && !rc)
		rc = CRATIS_ERROR;
	run->cancelled = *a->cancel != 0;
	free(inputs);
	return rc;
}

int app_lock_take(struct app *a, struct run_lock *h, struct diags *d)
{
	return take_lock(a, h, d);
}

int app_lock_release(struct app *a, struct run_lock *h, struct diags *d)
{
	return release_lock(a, h, d);
}

/* The names of Project.spec.promotion.variables of the first Project, or NULL. */
static json_t *promoted_names(const struct model *m)
{
	if (!m->nprojects)
		return NULL;
	json_t *spec = json_object_get(m->projects[0].doc->root, "spec");
	return json_object_get(json_object_get(spec, "promotion"), "variables");
}

void app_promotion_release(struct app_promotion *p)
{
	json_decref(p->overrides);
	json_decref(p->artifact_pins);
	free(p->started);
	free(p->what);
	memset(p, 0, sizeof(*p));
}

int app_promotion_collect(struct app *a, const char *from, struct app_promotion *out, struct diags *d)
{
	memset(out, 0, sizeof(*out));
	struct deployments dep = { 0 };
	struct state_rows rows = { 0 };
	json_t *inputs = NULL;
	int rc = CRATIS_EINVAL;
	if (store_history(a->store, from, 0, &dep)) {
		rc = diags_add_last_error(d);
		goto out_release;
	}
	const struct deployment *last = NULL;
	for (size_t i = 0; i < dep.n && !last; i++)
		if (dep.v[i].result && strcmp(dep.v[i].result, "running"))
			last = &dep.v[i];
	if (!last) {
		diags_errorf(d, rc, "refusing to promote: nothing has been deployed to '%s' yet; apply it first", from);
		goto out_release;
	}
	if (!last->inputs) {
		diags_errorf(d, rc, "refusing to promote: the last deployment of '%s' (%lld, `%s`) deployed nothing to promote (a destroy, or a run older than promotion records)",
		             from, (long long)last->id, last->command);
		goto out_release;
	}
	if (strcmp(last->result, "succeeded")) {
		diags_errorf(d, rc, "refusing to promote: the last deployment of '%s' (%lld, %s, `%s`) %s: %s", from,
		             (long long)last->id, last->started, last->command, last->result, or_empty(last->summary));
		goto out_release;
	}
	if (store_list(a->store, from, NULL, &rows)) {
		rc = diags_add_last_error(d);
		goto out_release;
	}
	for (size_t i = 0; i < rows.n; i++) {
		if (strcmp(rows.v[i].status, "ready")) {
			diags_errorf(d, rc, "refusing to promote: %s in '%s' is %s%s%s", rows.v[i].id, from, rows.v[i].status,
			             rows.v[i].message ? ": " : "", or_empty(rows.v[i].message));
			goto out_release;
		}
	}
	inputs = json_loads(last->inputs, 0, NULL);
	json_t *vars = json_object_get(inputs, "variables"), *names = promoted_names(&a->model);
	out->overrides = json_object();
	out->artifact_pins = json_incref(json_object_get(inputs, "artifacts"));
	struct buf what = BUF_INIT;
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n) {
		json_t *v = json_object_get(vars, json_string_value(n));
		if (!json_is_string(n) || !v) {
			diags_errorf(d, rc, "refusing to promote: spec.promotion.variables[%zu]: '%s' was not a variable of '%s' in deployment %lld",
			             i, json_is_string(n) ? json_string_value(n) : "?", from, (long long)last->id);
			buf_release(&what);
			app_promotion_release(out);
			goto out_release;
		}
		if (json_is_string(v) && starts_with(json_string_value(v), SECRET_REDACTED)) {
			diags_errorf(d, rc, "refusing to promote: spec.promotion.variables[%zu]: '%s' is sensitive; its value is not recorded",
			             i, json_string_value(n));
			buf_release(&what);
			app_promotion_release(out);
			goto out_release;
		}
		json_object_set(out->overrides, json_string_value(n), v);
		char *t = json_dumps(v, JSON_ENCODE_ANY);
		buf_addf(&what, "%s%s=%s", what.len ? ", " : "", json_string_value(n), t);
		free(t);
	}
	const char *k;
	json_t *art;
	json_object_foreach(out->artifact_pins, k, art)
		buf_addf(&what, "%sartifact %s %s@%s", what.len ? ", " : "", k, json_string_value(json_object_get(art, "version")),
		         json_string_value(json_object_get(art, "digest")));
	out->deployment = last->id;
	out->started = xstrdup(or_empty(last->started));
	out->what = buf_detach(&what);
	rc = CRATIS_OK;
out_release:
	json_decref(inputs);
	store_rows_release(&rows);
	store_deployments_release(&dep);
	return rc;
}

/* The Rollout resource named name (NULL: the only one) of the model. */
static int pick_rollout(struct app *a, const char *name, struct resource **out, struct diags *d)
{
	size_t n = 0;
	*out = NULL;
	for (size_t i = 0; i < a->model.nresources; i++) {
		struct resource *r = a->model.resources[i];
		if (strcmp(r->group, CORE_GROUP) || strcmp(r->kind, "Rollout"))
			continue;
		n++;
		if (!name || !strcmp(r->name, name))
			*out = *out && !name ? *out : r;
	}
	if (name && !*out) {
		struct diag *dg = diags_errorf(d, CRATIS_ENOTFOUND, "no Rollout '%s' in the manifests", name);
		const char **cands = xcalloc(n + 1, sizeof(*cands));
		struct buf all = BUF_INIT;
		size_t k = 0;
		for (size_t i = 0; i < a->model.nresources; i++) {
			struct resource *r = a->model.resources[i];
			if (!strcmp(r->group, CORE_GROUP) && !strcmp(r->kind, "Rollout")) {
				cands[k++] = r->name;
				buf_addf(&all, "%s%s", all.len ? ", " : "", r->name);
			}
		}
		const char *best = model_suggest(name, cands, k);
		if (best)
			diag_hint(dg, "did you mean '%s'?", best);
		else
			diag_hint(dg, "the Rollouts defined: %s", all.len ? all.ptr : "none");
		buf_release(&all);
		free(cands);
		return CRATIS_ENOTFOUND;
	}
	if (!n) {
		diags_errorf(d, CRATIS_ENOTFOUND, "the manifests define no Rollout (kind Rollout, apiVersion cratis/v1)");
		return CRATIS_ENOTFOUND;
	}
	if (!name && n > 1) {
		diags_errorf(d, CRATIS_EINVAL, "several Rollouts are defined; name one");
		return CRATIS_EINVAL;
	}
	return CRATIS_OK;
}

static json_t *releases_json(const struct releases *rels)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < rels->n; i++) {
		const struct release *r = &rels->v[i];
		bool live = !strcmp(r->status, "active") || !strcmp(r->status, "variant") || !strcmp(r->status, "preview") || !strcmp(r->status, "previous") ||
		            !strcmp(r->status, "promoting") || !strcmp(r->status, "retiring") || !strcmp(r->status, "failing");
		const char *health = live ? (rollout_release_healthy(r) ? "up" : "down") : "-";
		json_t *log = r->log ? json_loads(r->log, 0, NULL) : NULL;
		json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:b,s:o}", "release", r->id, "colour", r->colour,
		                                     "status", r->status, "stage", or_empty(r->stage), "created", or_empty(r->created),
		                                     "updated", or_empty(r->updated), "port", r->port, "health", health, "live", live,
		                                     "stages", log ? log : json_array()));
	}
	return arr;
}

int app_rollout(struct app *a, enum app_rollout_action action, const char *name, const char *to, bool force,
                json_t **releases, struct diags *d)
{
	struct state_rows rows = { 0 };
	char *statedir = NULL;
	struct run_lock me;
	bool locked = false;
	struct resource *r;
	*releases = NULL;
	int rc = pick_rollout(a, name, &r, d);
	if (rc)
		return rc;
	bool steer = action != APP_ROLLOUT_STATUS && action != APP_ROLLOUT_HISTORY;
	if (steer) {
		if ((rc = take_lock(a, &me, d)))
			goto out_release;
		locked = true;
	}
	if (store_list(a->store, a->model.env_name, NULL, &rows)) {
		rc = diags_add_last_error(d);
		goto out_release;
	}
	struct state_row *row = store_rows_find(&rows, r->project, r->id);
	if (!row || !row->spec) {
		rc = CRATIS_ENOTFOUND;
		diags_errorf(d, rc, "rollout '%s' has not been applied in environment '%s'", r->name, a->model.env_name);
		goto out_release;
	}
	if ((rc = engine_statedir(&statedir, a->state_dir, a->model.env_name, r->project, r->id))) {
		rc = diags_add_last_error(d);
		goto out_release;
	}
	struct rollout_target t = { r->project, a->model.env_name, r->name, row->spec, a->project_dir, statedir };
	static const char *const verbs[] = { "status", "promote", "abort", "rollback", "history" };
	/* status and history only read (no scale-down, no settling: those write, under the lock) */
	if (steer) {
		/* a steering action is a deployment of its own in `cratis history` */
		char started[32];
		now_rfc3339(started);
		struct deployment dep = { .project = r->project, .environment = (char *)a->model.env_name,
		                          .command = (char *)or_empty(a->o.command_line), .user = (char *)user_name(),
		                          .host = (char *)host_name(), .started = started };
		if (engine_deployment_begin(a->store, &dep)) {
			rc = diags_add_last_error(d);
			goto out_release;
		}
		engine_emit(a->o.observer, &(struct engine_event){ .type = EV_DEPLOYMENT_STARTED, .deployment = dep.id,
		                                                   .message = a->model.env_name });
		if (action == APP_ROLLOUT_PROMOTE)
			rc = rollout_promote(&a->rollout, &t);
		else if (action == APP_ROLLOUT_ABORT)
			rc = rollout_abort(&a->rollout, &t);
		else
			rc = rollout_rollback(&a->rollout, &t, to, force);
		char finished[32];
		now_rfc3339(finished);
		char *summary = rc ? xasprintf("rollout %s %s failed: %s", verbs[action], r->name, cratis_error_last()->message)
		                   : xasprintf("rollout %s %s", verbs[action], r->name);
		int erc = rc ? cratis_error_last()->status : 0;
		char *emsg = rc ? xstrdup(cratis_error_last()->message) : NULL;
		dep.finished = finished;
		dep.result = rc ? "failed" : "succeeded";
		dep.summary = summary;
		if (engine_deployment_finish(a->store, &dep, NULL) && !rc)
			rc = diags_add_last_error(d);
		engine_emit(a->o.observer, &(struct engine_event){ .type = EV_DEPLOYMENT_FINISHED, .deployment = dep.id,
		                                                   .message = dep.result });
		free(summary);
		if (emsg) /* the action's error, not the bookkeeping's */
			error_set(erc ? erc : CRATIS_ERROR, "%s", emsg);
		free(emsg);
	}
	if (rc) {
		const struct cratis_error *e = cratis_error_last();
		diags_errorf(d, e->status ? e->status : CRATIS_ERROR, "rollout %s: %s", verbs[action], e->message);
		rc = e->status ? e->status : CRATIS_ERROR;
		goto out_release;
	}
	struct releases rels;
	if (store_releases(a->store, a->model.env_name, r->project, r->name, &rels)) {
		rc = diags_add_last_error(d);
		goto out_release;
	}
	*releases = releases_json(&rels);
	store_releases_release(&rels);
out_release:
	if (locked && release_lock(a, &me, d) && !rc)
		rc = CRATIS_ERROR;
	free(statedir);
	store_rows_release(&rows);
	return rc;
}

/* ---- saved plans ---- */

#define SAVED_PLAN_KIND "cratis-plan"
#define MANIFEST_DIGEST_CAP (64u << 20)

/* [{file (absolute), sha256}] of every manifest file the open project read, in load order. */
static int manifest_digests(struct app *a, json_t **out, struct diags *d)
{
	json_t *list = json_array();
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < a->ms.files.n; i++) {
		const char *f = a->ms.files.v[i];
		char *abs = abs_path(f);
		buf_clear(&b);
		if (!abs || buf_read_file(&b, abs, MANIFEST_DIGEST_CAP) < 0) {
			diags_errorf(d, CRATIS_EIO, "cannot read manifest '%s': %s", f, strerror(errno));
			free(abs);
			buf_release(&b);
			json_decref(list);
			*out = NULL;
			return CRATIS_EIO;
		}
		char hex[65];
		if (secret_sha256_hex(hex, b.ptr, b.len)) {
			diags_add_last_error(d);
			free(abs);
			buf_release(&b);
			json_decref(list);
			*out = NULL;
			return cratis_error_last()->status;
		}
		json_array_append_new(list, json_pack("{s:s,s:s}", "file", abs, "sha256", hex));
		free(abs);
	}
	buf_release(&b);
	*out = list;
	return CRATIS_OK;
}

int app_plan_saved(struct app *a, const struct plan *p, json_t **out, struct diags *d)
{
	*out = NULL;
	json_t *digests;
	int rc = manifest_digests(a, &digests, d);
	if (rc)
		return rc;
	json_t *paths = json_array();
	for (size_t i = 0; i < a->o.npaths; i++) {
		char *abs = abs_path(a->o.paths[i]);
		json_array_append_new(paths, json_string(abs ? abs : a->o.paths[i]));
		free(abs);
	}
	json_t *doc = plan_to_saved(p);
	json_t *head = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o}", "format_version", PLAN_FORMAT_VERSION, "kind", SAVED_PLAN_KIND,
	                         "cratis_version", CRATIS_CORE_VERSION, "environment", or_empty(a->model.env_name),
	                         "project_dir", a->project_dir, "state_dir", a->state_dir, "paths", paths,
	                         "manifests", digests, "inputs", deployment_inputs(a, p->secrets));
	if (a->o.state_url)
		json_object_set_new(head, "state_url", json_string(a->o.state_url));
	json_object_update(head, doc);
	json_decref(doc);
	*out = head;
	return CRATIS_OK;
}

int app_plan_write(struct app *a, const struct plan *p, const char *path, struct diags *d)
{
	json_t *head;
	int rc = app_plan_saved(a, p, &head, d);
	if (rc)
		return rc;
	char *text = json_dumps(head, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(head);
	/* a temporary file beside path (mkstemp creates it 0600), renamed over it */
	char *tmp = xasprintf("%s.XXXXXX", path);
	int fd = mkstemp(tmp);
	rc = CRATIS_OK;
	if (fd < 0) {
		rc = CRATIS_EIO;
		diags_errorf(d, rc, "cannot write the plan to '%s': %s", path, strerror(errno));
		goto out_free;
	}
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off < len || write(fd, "\n", 1) != 1 || fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
		rc = CRATIS_EIO;
		diags_errorf(d, rc, "cannot write the plan to '%s': %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out_free;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		rc = CRATIS_EIO;
		diags_errorf(d, rc, "cannot write the plan to '%s': %s", path, strerror(errno));
		unlink(tmp);
	}
out_free:
	free(tmp);
	free(text);
	return rc;
}

int app_plan_read(const char *path, json_t **out, struct diags *d)
{
	*out = NULL;
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err);
	if (!j) {
		int rc = errno && access(path, R_OK) < 0 ? CRATIS_EIO : CRATIS_EINVAL;
		if (rc == CRATIS_EIO)
			diags_errorf(d, rc, "cannot read the plan '%s': %s", path, strerror(errno));
		else
			diags_errorf(d, rc, "%s:%d:%d: not a saved plan: %s", path, err.line, err.column, err.text);
		return rc;
	}
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *ver = json_string_value(json_object_get(j, "format_version"));
	if (!json_is_object(j) || !kind || strcmp(kind, SAVED_PLAN_KIND)) {
		struct diag *dg = diags_errorf(d, CRATIS_EINVAL, "'%s' is not a saved plan (expected \"kind\": \"%s\")", path, SAVED_PLAN_KIND);
		diag_hint(dg, "write one with `cratis plan -out FILE`");
		json_decref(j);
		return CRATIS_EINVAL;
	}
	if (!ver || strncmp(ver, PLAN_FORMAT_VERSION, strcspn(PLAN_FORMAT_VERSION, ".") + 1)) {
		diags_errorf(d, CRATIS_EINVAL, "'%s': saved plan format %s is not supported (this cratis reads %s)", path,
		             ver ? ver : "(none)", PLAN_FORMAT_VERSION);
		json_decref(j);
		return CRATIS_EINVAL;
	}
	*out = j;
	return CRATIS_OK;
}

static struct diag *stale_plan(struct diags *d, const char *fmt, const char *arg)
{
	struct buf m = BUF_INIT;
	buf_addf(&m, fmt, arg);
	struct diag *dg = diags_errorf(d, CRATIS_EINVAL, "saved plan is stale: %s", m.ptr);
	diag_hint(dg, "nothing was changed; run `cratis plan -out FILE` again and apply the new plan");
	buf_release(&m);
	return dg;
}

int app_apply_saved(struct app *a, const json_t *saved, app_review_fn review, void *payload, struct plan *plan_out,
                    struct app_run *run, struct diags *d)
{
	memset(run, 0, sizeof(*run));
	memset(plan_out, 0, sizeof(*plan_out));
	const char *ver = json_string_value(json_object_get(saved, "cratis_version"));
	if (!ver || strcmp(ver, CRATIS_CORE_VERSION)) {
		diags_errorf(d, CRATIS_EINVAL, "the saved plan was made by cratis %s; this is cratis %s: run `cratis plan -out FILE` again",
		             ver ? ver : "(unknown)", CRATIS_CORE_VERSION);
		return CRATIS_EINVAL;
	}
	const char *env = json_string_value(json_object_get(saved, "environment"));
	if (!env || strcmp(env, or_empty(a->model.env_name))) {
		diags_errorf(d, CRATIS_EINVAL, "the saved plan is for environment '%s', not '%s'", env ? env : "", or_empty(a->model.env_name));
		return CRATIS_EINVAL;
	}
	/* the manifests must be the ones planned: the same files with the same bytes */
	json_t *now;
	int rc = manifest_digests(a, &now, d);
	if (rc)
		return rc;
	const json_t *then = json_object_get(saved, "manifests");
	size_t i;
	json_t *e;
	json_array_foreach(now, i, e) {
		const char *f = json_string_value(json_object_get(e, "file"));
		const json_t *old = NULL;
		size_t k;
		json_t *x;
		json_array_foreach(then, k, x)
			if (!strcmp(or_empty(json_string_value(json_object_get(x, "file"))), f))
				old = x;
		if (!old) {
			stale_plan(d, "manifest '%s' was added since the plan was made", f);
			rc = CRATIS_EINVAL;
		} else if (!json_equal(json_object_get(old, "sha256"), json_object_get(e, "sha256"))) {
			stale_plan(d, "manifest '%s' changed since the plan was made", f);
			rc = CRATIS_EINVAL;
		}
		if (rc)
			break;
	}
	if (!rc && json_array_size(now) != json_array_size(then)) {
		json_array_foreach(then, i, e) {
			const char *f = or_empty(json_string_value(json_object_get(e, "file")));
			bool found = false;
			size_t k;
			json_t *x;
			json_array_foreach(now, k, x)
				found |= !strcmp(json_string_value(json_object_get(x, "file")), f);
			if (!found) {
				stale_plan(d, "manifest '%s' was removed since the plan was made", f);
				rc = CRATIS_EINVAL;
				break;
			}
		}
	}
	json_decref(now);
	if (rc)
		return rc;
	return run_apply(a, json_is_true(json_object_get(saved, "destroy")), saved, review, payload, plan_out, run, d);
}
