/* Releases: the hooks of a stage (run commands, Task commands, resources the engine applies). */
#define _GNU_SOURCE
#include "rollout_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/error.h"
#include "engine/observer.h"
#include "util/subprocess.h"
#include "banned.h"


/* Run the hooks of stage (spec.hooks.STAGE: [{run: argv, timeoutSeconds, retries}]) for r. */
/* What one hook runs: its own `run` argv, or the apply command of a Task resource (`task:
 * Task/NAME`) as recorded in this environment, with the Task's env and workdir. */
struct hook_cmd {
	const char **argv;        /* borrowed strings, heap array */
	struct strv env;          /* CRATIS_* and the Task's env, "K=V" */
	char *workdir;
	int timeout_ms;
	json_t *spec;             /* the Task's recorded spec, kept alive for argv */
};

static void hook_cmd_release(struct hook_cmd *hc)
{
	free(hc->argv);
	strv_release(&hc->env);
	free(hc->workdir);
	json_decref(hc->spec);
}

static int hook_command(struct rop *o, json_t *h, const char *const *base_env, struct hook_cmd *hc)
{
	memset(hc, 0, sizeof(*hc));
	for (size_t k = 0; base_env[k]; k++)
		strv_push(&hc->env, base_env[k]);
	json_t *run = json_object_get(h, "run");
	const char *task = ro_sget(h, "task", NULL);
	if (task) {
		struct state_rows rows;
		int lrc = store_list(o->env->store, o->environment, NULL, &rows);
		if (lrc) {
			hook_cmd_release(hc);
			return lrc;
		}
		struct state_row *row = store_rows_find(&rows, o->project, task);
		hc->spec = row && row->spec ? json_loads(row->spec, 0, NULL) : NULL;
		store_rows_release(&rows);
		if (!hc->spec) {
			hook_cmd_release(hc);
			return error_set(CRATIS_ENOTFOUND, "hook task %s is not applied in environment '%s' (declare it in the manifests and list it in the Rollout's dependsOn)",
			                 task, o->environment);
		}
		run = json_object_get(hc->spec, "apply");
		if (json_is_string(run) && json_is_true(json_object_get(hc->spec, "shell"))) {
			hc->argv = xcalloc(4, sizeof(char *));
			hc->argv[0] = "/bin/sh";
			hc->argv[1] = "-c";
			hc->argv[2] = json_string_value(run);
			run = NULL;
		}
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(hc->spec, "env"), k, v)
			if (json_is_string(v))
				strv_push_owned(&hc->env, xasprintf("%s=%s", k, json_string_value(v)));
		const char *wd = ro_sget(hc->spec, "workdir", NULL);
		hc->workdir = wd ? (wd[0] == '/' ? xstrdup(wd) : xasprintf("%s/%s", o->workdir, wd)) : xstrdup(o->workdir);
		hc->timeout_ms = ro_seconds_ms(ro_iget(h, "timeoutSeconds", ro_iget(hc->spec, "timeoutSeconds", 300)));
	} else {
		hc->workdir = xstrdup(o->workdir);
		hc->timeout_ms = ro_seconds_ms(ro_iget(h, "timeoutSeconds", 60));
	}
	if (!hc->argv) {
		hc->argv = xcalloc(json_array_size(run) + 1, sizeof(char *));
		for (size_t k = 0; k < json_array_size(run); k++)
			hc->argv[k] = json_string_value(json_array_get(run, k));
	}
	if (!hc->argv[0]) {
		hook_cmd_release(hc);
		return error_set(CRATIS_EINVAL, "hook %s has no command", task ? task : "");
	}
	return CRATIS_OK;
}

/* A hook that names a resource other than a Task (`task: Migration/NAME`): the engine applies
 * that resource now, as it applies it in the run (call.apply_now), and its outcome is the hook's. */
static int resource_hook(struct rop *o, struct release *r, const char *stage, size_t i, const char *id)
{
	struct call *c = o->parent ? o->parent->call : NULL;
	if (!c || !c->apply_now) {
		char *m = xasprintf("%s can run only inside `cratis apply`, which applies it as it applies every resource", id);
		ro_record(o, r, stage, "failed", m);
		error_set(CRATIS_EINVAL, "%s hook %zu: %s", stage, i + 1, m);
		free(m);
		return CRATIS_EINVAL;
	}
	char *detail = NULL;
	int rc = c->apply_now(c->apply_now_payload, id, &detail);
	if (rc) {
		char *msg = xstrdup(cratis_error_last()->message);
		ro_record(o, r, stage, "failed", msg);
		error_set(CRATIS_ERROR, "%s hook %zu (%s) failed: %s", stage, i + 1, id, msg);
		free(msg);
	} else {
		ro_record(o, r, stage, "ok", detail);
	}
	free(detail);
	return rc;
}

int ro_run_hooks(struct rop *o, struct release *r, const char *stage)
{
	if (o->env->cancel && *o->env->cancel)
		return error_set(CRATIS_ERROR, "interrupted before the %s hooks", stage);
	json_t *hooks = json_object_get(json_object_get(o->spec, "hooks"), stage);
	size_t i;
	json_t *h;
	char *preview = ro_url_of(ro_iget(o->spec, "previewPort", 0)), *active = ro_url_of(ro_iget(o->spec, "activePort", 0));
	char *own = ro_url_of(r->port);
	char *e[6] = { xasprintf("CRATIS_STAGE=%s", stage), xasprintf("CRATIS_RELEASE=%s", r->id),
	               xasprintf("CRATIS_RELEASE_URL=%s", own), xasprintf("CRATIS_PREVIEW_URL=%s", preview),
	               xasprintf("CRATIS_ACTIVE_URL=%s", active), NULL };
	int rc = CRATIS_OK;
	json_array_foreach(hooks, i, h) {
		const char *task = ro_sget(h, "task", NULL);
		if (task && !starts_with(task, "Task/") && !json_object_get(h, "run")) {
			if (resource_hook(o, r, stage, i, task)) {
				rc = CRATIS_ERROR;
				break;
			}
			engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "%s: %s hook %zu (%s) passed", o->name, stage, i + 1, task);
			continue;
		}
		struct hook_cmd hc;
		if (hook_command(o, h, (const char *const *)e, &hc)) {
			ro_record(o, r, stage, "failed", cratis_error_last()->message);
			rc = CRATIS_ERROR;
			break;
		}
		const char **argv = hc.argv;
		int tries = 1 + ro_iget(h, "retries", 0);
		struct proc_result res;
		struct proc_spec ps = { .argv = argv, .env = (const char *const *)hc.env.v, .workdir = hc.workdir,
		                        .timeout_ms = hc.timeout_ms, .cancel = o->env->cancel, .grace_ms = o->env->grace_ms };
		bool ok = false;
		for (int t = 0; t < tries && !ok; t++) {
			if (t)
				engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "%s: %s hook %zu: retry %d of %d", o->name, stage, i + 1, t, tries - 1);
			if (proc_run(&ps, &res)) {
				ro_record(o, r, stage, "failed", cratis_error_last()->message);
				break;
			}
			ok = res.exit_code == 0 && !res.timed_out;
			struct buf out = BUF_INIT;
			buf_add(&out, res.out.ptr, res.out.len);
			buf_add(&out, res.err.ptr, res.err.len);
			while (out.len && (out.ptr[out.len - 1] == '\n' || out.ptr[out.len - 1] == ' '))
				out.ptr[--out.len] = '\0';
			if (ok || t == tries - 1)
				ro_record(o, r, stage, ok ? "ok" : "failed", out.ptr);
			if (!ok && t == tries - 1)
				error_set(CRATIS_ERROR, "%s hook %zu ('%s') %s%s%s", stage, i + 1, argv[0],
				          res.timed_out ? "timed out" : "failed", out.len ? ": " : "", out.ptr);
			buf_release(&out);
			proc_result_release(&res);
		}
		hook_cmd_release(&hc);
		if (!ok) {
			if (!cratis_error_last()->status)
				error_set(CRATIS_ERROR, "%s hook %zu could not run", stage, i + 1);
			rc = CRATIS_ERROR;
			break;
		}
		engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "%s: %s hook %zu passed", o->name, stage, i + 1);
	}
	for (size_t k = 0; e[k]; k++)
		free(e[k]);
	free(preview);
	free(active);
	free(own);
	return rc;
}

/* Call op of the handler for group/kind with spec, in statedir dir (created). */
