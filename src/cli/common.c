/* Shared CLI plumbing: flags, loading a project, printing errors. */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "banned.h"

void print_errors(const struct strv *errors)
{
	for (size_t i = 0; i < errors->n; i++)
		fprintf(stderr, "error: %s\n", errors->v[i]);
}

static bool take_value(int argc, char **argv, int *i, const char *flag, const char **out)
{
	size_t n = strlen(flag);
	if (!strcmp(argv[*i], flag)) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "error: %s needs a value\n", flag);
			*out = NULL;
			return true;
		}
		*out = argv[++*i];
		return true;
	}
	if (!strncmp(argv[*i], flag, n) && argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
		return true;
	}
	if (n == 2 && !strncmp(argv[*i], flag, 2) && argv[*i][2]) { /* -fPATH, -j4 */
		*out = argv[*i] + 2;
		return true;
	}
	return false;
}

int cli_parse(int argc, char **argv, unsigned mask, struct cli_ctx *ctx, const char *usage)
{
	const char *v;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if ((mask & CF_FILES) && (take_value(argc, argv, &i, "-f", &v) || take_value(argc, argv, &i, "--file", &v))) {
			if (!v)
				return EXIT_USAGE;
			strv_push(&ctx->files, v);
		} else if ((mask & CF_ENV) && take_value(argc, argv, &i, "--env", &v)) {
			if (!v)
				return EXIT_USAGE;
			ctx->env = v;
		} else if ((mask & CF_JOBS) && take_value(argc, argv, &i, "-j", &v)) {
			char *end;
			long j = v ? strtol(v, &end, 10) : 0;
			if (!v || *end || j < 1 || j > 1024) {
				fprintf(stderr, "error: -j: expected a number of parallel jobs from 1 to 1024\n");
				return EXIT_USAGE;
			}
			ctx->jobs = (int)j;
		} else if ((mask & CF_OUTPUT) && take_value(argc, argv, &i, "-o", &v)) {
			if (!v || (strcmp(v, "json") && strcmp(v, "text") && strcmp(v, "markdown"))) {
				fprintf(stderr, "error: -o: expected 'text', 'json' or 'markdown'\n");
				return EXIT_USAGE;
			}
			ctx->json = !strcmp(v, "json");
			ctx->markdown = !strcmp(v, "markdown");
		} else if ((mask & CF_APPROVE) && !strcmp(a, "--auto-approve")) {
			ctx->auto_approve = true;
		} else if ((mask & CF_DETAILED) && !strcmp(a, "--detailed-exitcode")) {
			ctx->detailed_exitcode = true;
		} else if ((mask & CF_REFRESH) && (!strcmp(a, "--refresh=false") || !strcmp(a, "--refresh=true"))) {
			ctx->refresh = !strcmp(a, "--refresh=true");
		} else if ((mask & CF_LOCK) && take_value(argc, argv, &i, "--lock-timeout", &v)) {
			char *end;
			double s = v ? strtod(v, &end) : -1;
			if (!v || *end || s < 0) {
				fprintf(stderr, "error: --lock-timeout: expected seconds (e.g. 30)\n");
				return EXIT_USAGE;
			}
			ctx->lock_timeout_ms = (int)(s * 1000);
		} else if (mask && take_value(argc, argv, &i, "--state-dir", &v)) {
			if (!v)
				return EXIT_USAGE;
			ctx->state_dir = v;
		} else if ((mask & CF_FROM) && take_value(argc, argv, &i, "--from", &v)) {
			if (!v)
				return EXIT_USAGE;
			ctx->from = v;
		} else if ((mask & CF_TO) && take_value(argc, argv, &i, "--to", &v)) {
			if (!v)
				return EXIT_USAGE;
			ctx->to = v;
		} else if ((mask & CF_DRYRUN) && !strcmp(a, "--dry-run")) {
			ctx->dry_run = true;
		} else if ((mask & CF_HISTORY) && !strcmp(a, "--history")) {
			ctx->history = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			log_set_level(CRATIS_LOG_DEBUG);
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "error: unknown flag '%s'\nusage: %s\n", a, usage);
			return EXIT_USAGE;
		} else {
			strv_push(&ctx->args, a);
		}
	}
	if (!ctx->files.n)
		strv_push(&ctx->files, ".");
	return EXIT_OK;
}

void session_release(struct session *s)
{
	model_release(&s->model);
	manifest_set_release(&s->ms);
	registry_release(&s->reg);
	lock_keeper_stop(s->keeper); /* its error (the lock lost after the run) cannot change the outcome now */
	store_close(s->store);
	json_decref(s->artifacts);
	free(s->project_dir);
	free(s->state_dir);
	memset(s, 0, sizeof(*s));
}

/* The project directory of the first -f: the directory itself, or a file's directory. Prints the
 * error and returns NULL when path cannot be read. Caller frees. */
static char *project_dir(const char *path)
{
	char *abs = abs_path(path);
	if (!abs) {
		fprintf(stderr, "error: cannot read '%s': %s\n", path, strerror(errno));
		return NULL;
	}
	if (is_dir(abs))
		return abs;
	char *slash = strrchr(abs, '/');
	char *dir = slash && slash != abs ? xstrndup(abs, (size_t)(slash - abs)) : xstrdup("/");
	free(abs);
	return dir;
}

int cli_lock(struct cli_ctx *ctx, struct session *s, struct lock_info *me)
{
	struct lock_info holder;
	memset(me, 0, sizeof(*me));
	me->pid = (long)getpid();
	snprintf(me->environment, sizeof(me->environment), "%s", s->model.env_name);
	snprintf(me->host, sizeof(me->host), "%s", host_name());
	snprintf(me->user, sizeof(me->user), "%s", user_name());
	snprintf(me->command, sizeof(me->command), "%s", ctx->command_line);
	int rc = store_lock(s->store, me, ctx->lock_timeout_ms, &holder);
	if (rc) {
		fprintf(stderr, "error: %s\n", cratis_error_last()->message);
		return rc == CRATIS_ELOCKED ? EXIT_LOCKED : EXIT_ERROR;
	}
	/* renew the lease while this run lives (stopped by session_release) */
	if (lock_keeper_start(&s->keeper, s->store, me->id, me->lease_ms)) {
		fprintf(stderr, "error: %s\n", cratis_error_last()->message);
		if (store_unlock(s->store, me->id))
			fprintf(stderr, "warning: %s\n", cratis_error_last()->message);
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

/* ${artifact:NAME}: the artifact pinned by a promotion, else the newest current digest (or
 * version) recorded for NAME; remembered in s->artifacts for the deployment record. */
static char *resolve_artifact(const char *name, const char *field, char **err, void *payload)
{
	struct session *s = payload;
	json_t *pin = json_object_get(s->artifact_pins, name);
	if (!pin) {
		struct artifacts a;
		if (store_artifacts(s->store, name, false, &a)) {
			*err = xstrdup(cratis_error_last()->message);
			return NULL;
		}
		if (a.n)
			pin = json_pack("{s:s,s:s}", "version", a.v[0].version, "digest", a.v[0].digest);
		store_artifacts_release(&a);
		if (!pin) {
			*err = xasprintf("no artifact '%s' is recorded (`cratis artifact record %s VERSION DIGEST` after a build)", name, name);
			return NULL;
		}
		json_object_set_new(s->artifacts, name, pin);
	} else {
		json_object_set(s->artifacts, name, pin);
	}
	const char *v = json_string_value(json_object_get(pin, !strcmp(field, "version") ? "version" : "digest"));
	if (!v) {
		*err = xasprintf("artifact '%s' has no %s", name, field);
		return NULL;
	}
	return xstrdup(v);
}

int cli_load(struct cli_ctx *ctx, struct session *s, int what)
{
	memset(s, 0, sizeof(*s));
	manifest_set_init(&s->ms);
	registry_init(&s->reg);
	model_init(&s->model);
	const char *first = ctx->files.v[0];
	if (!(s->project_dir = project_dir(first)))
		return EXIT_ERROR;
	const char *sd = ctx->state_dir ? ctx->state_dir : getenv("CRATIS_STATE_DIR");
	char *want = sd && *sd ? xstrdup(sd) : xasprintf("%s/.cratis", s->project_dir);
	if (mkdir_p(want) < 0) {
		fprintf(stderr, "error: cannot create state directory '%s': %s\n", want, strerror(errno));
		free(want);
		return EXIT_ERROR;
	}
	s->state_dir = abs_path(want);
	free(want);

	char *db = xasprintf("%s/state.db", s->state_dir);
	int rc = store_open_sqlite(&s->store, db);
	free(db);
	if (rc) {
		fprintf(stderr, "error: %s\n", cratis_error_last()->message);
		return EXIT_ERROR;
	}
	struct strv errors = STRV_INIT;
	if (what & LOAD_PLUGINS) {
		registry_default_dirs(&s->reg, s->project_dir);
		registry_load(&s->reg, &errors);
		s->rollout.reg = &s->reg;
		s->rollout.store = s->store;
		rollout_register(&s->reg, &s->rollout, &errors);
	}
	if (what == LOAD_MANIFESTS) {
		for (size_t i = 0; i < ctx->files.n; i++)
			if (manifest_load_path(&s->ms, ctx->files.v[i]) == CRATIS_EIO)
				strv_push(&errors, cratis_error_last()->message);
		for (size_t i = 0; i < s->ms.errors.n; i++)
			strv_push(&errors, s->ms.errors.v[i]);
		if (!errors.n && !s->ms.n)
			strv_push_owned(&errors, xasprintf("no manifests found in %s (expected *.yaml or *.yml files)", first));
		s->artifacts = json_object();
		s->artifact_pins = ctx->artifact_pins;
		s->model.artifact = resolve_artifact;
		s->model.artifact_payload = s;
		s->model.overrides = ctx->overrides;
		if (!errors.n && model_build(&s->model, &s->ms, &s->reg, ctx->env))
			for (size_t i = 0; i < s->model.errors.n; i++)
				strv_push(&errors, s->model.errors.v[i]);
	}
	if (errors.n) {
		print_errors(&errors);
		fprintf(stderr, "%zu error%s; nothing was changed\n", errors.n, errors.n == 1 ? "" : "s");
		strv_release(&errors);
		return EXIT_ERROR;
	}
	s->opts.workdir = s->project_dir;
	s->opts.statedir = s->state_dir;
	s->opts.refresh = ctx->refresh;
	s->opts.jobs = ctx->jobs;
	return EXIT_OK;
}

void vinfo_release(struct vinfo *vi)
{
	free(vi->dir);
	policy_release(&vi->policy);
	version_source_release(&vi->src);
	semver_release(&vi->version);
	repo_close(vi->repo);
	free(vi->branch);
	if (vi->released)
		semver_release(&vi->latest);
	free(vi->latest_tag);
	verdict_release(&vi->verdict);
	memset(vi, 0, sizeof(*vi));
}

int cli_versioning(struct cli_ctx *ctx, struct vinfo *vi)
{
	memset(vi, 0, sizeof(*vi));
	if (!(vi->dir = project_dir(ctx->files.v[0])))
		return EXIT_ERROR;
	/* the policy: Project.spec.versioning of the manifests, when there are any */
	struct manifest_set ms;
	manifest_set_init(&ms);
	const json_t *versioning = NULL;
	const struct manifest_doc *pdoc = NULL;
	int rc = EXIT_OK;
	for (size_t i = 0; i < ctx->files.n; i++)
		manifest_load_path(&ms, ctx->files.v[i]);
	if (ms.errors.n) {
		print_errors(&ms.errors);
		rc = EXIT_ERROR;
		goto out_release;
	}
	for (size_t i = 0; i < ms.n && !pdoc; i++) {
		json_t *r = ms.docs[i]->root;
		if (json_is_string(json_object_get(r, "kind")) && !strcmp(json_string_value(json_object_get(r, "kind")), "Project") &&
		    json_is_string(json_object_get(r, "apiVersion")) && !strcmp(json_string_value(json_object_get(r, "apiVersion")), "cratis/v1")) {
			pdoc = ms.docs[i];
			versioning = json_object_get(json_object_get(r, "spec"), "versioning");
		}
	}
	const char *field = NULL;
	char *err = NULL;
	if (policy_build(&vi->policy, versioning, &field, &err)) {
		struct strv e = STRV_INIT;
		manifest_error(&e, pdoc, field, "%s", err);
		print_errors(&e);
		strv_release(&e);
		free(err);
		rc = EXIT_ERROR;
		goto out_release;
	}
	if (version_read(vi->dir, vi->policy.source, &vi->src, &vi->version, &err) ||
	    repo_open(&vi->repo, vi->dir, &err) || repo_branch(vi->repo, &vi->branch, &err)) {
		fprintf(stderr, "error: %s\n", err);
		free(err);
		rc = EXIT_ERROR;
		goto out_release;
	}
	vi->rule = policy_match(&vi->policy, vi->branch);
	const char *format = vi->rule ? vi->rule->tag : "v${version}";
	if (repo_latest_release(vi->repo, format, &vi->released, &vi->latest, &vi->latest_tag, &err)) {
		fprintf(stderr, "error: %s\n", err);
		free(err);
		rc = EXIT_ERROR;
		goto out_release;
	}
	policy_check(&vi->policy, vi->branch, &vi->version, vi->released ? &vi->latest : NULL, &vi->verdict);
out_release:
	manifest_set_release(&ms);
	return rc;
}
