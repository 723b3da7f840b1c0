/* Releases: the Rollout handler (validate, apply, destroy, observe) with hooks, exit tests,
 * promotion and instant rollback (see rollout.h, docs/releases.md). */
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

static int validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = json_loads(req->spec, 0, NULL);
	struct call *c = req->call;
	int rc = CRATIS_OK;
	const char *strategy = ro_sget(s, "strategy", "blueGreen");
	json_t *tmpl = json_object_get(s, "template");
	static const char *const stages[] = { "beforePreProd", "afterPreProd", "exitTests", "promote", "afterPostProd" };
	if (strcmp(strategy, "blueGreen") && strcmp(strategy, "recreate")) {
		host_services.error(c, "spec.strategy", "expected blueGreen or recreate");
		rc = CRATIS_EINVAL;
	} else if (ro_iget(s, "activePort", 0) <= 0 || ro_iget(s, "activePort", 0) > 65535) {
		host_services.error(c, "spec.activePort", "expected the public port, an integer from 1 to 65535");
		rc = CRATIS_EINVAL;
	} else if (ro_iget(s, "previewPort", 0) <= 0 || ro_iget(s, "previewPort", 0) > 65535 || ro_iget(s, "previewPort", 0) == ro_iget(s, "activePort", 0)) {
		host_services.error(c, "spec.previewPort", "expected the preview port, an integer from 1 to 65535 other than activePort");
		rc = CRATIS_EINVAL;
	} else if (!json_is_object(tmpl) || !json_is_array(json_object_get(tmpl, "command"))) {
		host_services.error(c, "spec.template.command", "expected the release's command as a sequence of arguments (it listens on $PORT)");
		rc = CRATIS_EINVAL;
	} else if (json_object_get(s, "autoPromotion") && !json_is_boolean(json_object_get(s, "autoPromotion"))) {
		host_services.error(c, "spec.autoPromotion", "expected true or false");
		rc = CRATIS_EINVAL;
	} else if (!ro_port_range(s, &(int){ 0 }, &(int){ 0 })) {
		host_services.error(c, "spec.releasePorts", "expected LO-HI, the range release ports are handed out from (two ports from 1 to 65535, LO <= HI)");
		rc = CRATIS_EINVAL;
	} else if (json_object_get(s, "scaleDownDelaySeconds") &&
	           (ro_iget(s, "scaleDownDelaySeconds", -1) < 0 || ro_iget(s, "scaleDownDelaySeconds", -1) > 86400 * 30)) {
		host_services.error(c, "spec.scaleDownDelaySeconds", "expected a number of seconds, 0 to keep the previous release until the next one");
		rc = CRATIS_EINVAL;
	}
	json_t *hooks = json_object_get(s, "hooks");
	for (size_t k = 0; !rc && k < 5; k++) {
		json_t *list = json_object_get(hooks, stages[k]);
		size_t i;
		json_t *h;
		if (list && !json_is_array(list)) {
			char *f = xasprintf("spec.hooks.%s", stages[k]);
			host_services.error(c, f, "expected a sequence of {run: [argv], timeoutSeconds, retries}");
			free(f);
			rc = CRATIS_EINVAL;
		}
		json_array_foreach(list, i, h) {
			json_t *run = json_object_get(h, "run");
			const char *task = ro_sget(h, "task", NULL);
			bool ok = json_is_array(run) && json_array_size(run);
			for (size_t a = 0; ok && a < json_array_size(run); a++)
				ok = json_is_string(json_array_get(run, a));
			const char *slash = task ? strchr(task, '/') : NULL;
			bool resource = false; /* task: names a kind other than Task (a Migration) */
			if (task && !run) {
				ok = slash && slash > task && slash[1] && !strchr(slash + 1, '/');
				resource = ok && !starts_with(task, "Task/");
			}
			if (!ok && !rc) {
				char *f = xasprintf("spec.hooks.%s[%zu]%s", stages[k], i, task ? ".task" : ".run");
				host_services.error(c, f, task ? "expected Kind/NAME, a resource of this project whose kind applies (Task/NAME, Migration/NAME)"
				                               : "expected run: a command as a sequence of strings, or task: Kind/NAME (Task/NAME, Migration/NAME)");
				free(f);
				rc = CRATIS_EINVAL;
			}
			if (!rc && resource && (json_object_get(h, "retries") || json_object_get(h, "timeoutSeconds"))) {
				char *f = xasprintf("spec.hooks.%s[%zu].%s", stages[k], i, json_object_get(h, "retries") ? "retries" : "timeoutSeconds");
				host_services.error(c, f, "not for a %.*s hook: it is applied once, as the engine applies it (under --timeout); retries and timeoutSeconds are for run and Task hooks",
				                    (int)(slash - task), task);
				free(f);
				rc = CRATIS_EINVAL;
			}
			/* durations and counts in range: 0 or -5 used to mean "no deadline" */
			json_t *to = json_object_get(h, "timeoutSeconds"), *re = json_object_get(h, "retries");
			int tv = ro_iget(h, "timeoutSeconds", -1), rv = ro_iget(h, "retries", -1);
			if (!rc && to && (tv < 1 || tv > 86400)) {
				char *f = xasprintf("spec.hooks.%s[%zu].timeoutSeconds", stages[k], i);
				host_services.error(c, f, "expected a whole number of seconds from 1 to 86400 (one day)");
				free(f);
				rc = CRATIS_EINVAL;
			} else if (!rc && re && (rv < 0 || rv > 100)) {
				char *f = xasprintf("spec.hooks.%s[%zu].retries", stages[k], i);
				host_services.error(c, f, "expected a number of retries from 0 to 100");
				free(f);
				rc = CRATIS_EINVAL;
			}
		}
	}
	json_decref(s);
	return rc;
}

/* The rollout a request is about, with the spec it recorded (destroy, observe: from prior).
 * Returns the heap text t->spec points to when it came from prior (caller frees), else NULL. */
static char *target_of(const struct cratis_request *req, bool from_prior, struct rollout_target *t)
{
	*t = (struct rollout_target){ req->project, req->environment, req->name, req->spec, req->workdir, req->statedir };
	if (!from_prior)
		return NULL;
	json_t *prior = req->prior ? json_loads(req->prior, 0, NULL) : NULL;
	char *spec = json_dumps(json_object_get(prior, "spec"), JSON_COMPACT);
	json_decref(prior);
	t->spec = spec;
	return spec;
}

static int apply(void *data, const struct cratis_request *req, char **out)
{
	struct rollout_target t;
	target_of(req, false, &t);
	struct rop o;
	int rc = ro_op_load(&o, data, &t);
	o.parent = req;
	if (rc)
		goto out_release;
	ro_settle(&o); /* a switch an interrupted run left half done */
	ro_scale_down(&o);
	json_t *tmpl = json_object_get(o.spec, "template");
	char hash[9];
	if ((rc = ro_release_hash(&o, tmpl, hash)))
		goto out_release;
	struct release *active = ro_find(&o, "active"), *preview = ro_find(&o, "preview");
	if (active && ro_same_template(active, hash)) {
		rc = ro_route(&o, active->port, preview ? preview->port : active->port);
		goto out_outputs;
	}
	if (preview && ro_same_template(preview, hash) && preview->stage && !strcmp(preview->stage, "awaitingPromotion")) {
		engine_logf(o.env->observer, CRATIS_LOG_INFO, NULL, "%s: release %s is in preview, awaiting `cratis rollout promote`", o.name, preview->id);
		goto out_outputs;
	}
	if (preview) {
		/* a newer template, or a run interrupted while building this island */
		engine_logf(o.env->observer, CRATIS_LOG_INFO, NULL, "%s: aborting release %s in preview (%s)", o.name, preview->id,
		        ro_same_template(preview, hash) ? "interrupted before its exit tests passed" : "superseded by a newer template");
		ro_teardown(&o, preview, active, "aborted");
	}
	/* a new release, appended as the newest */
	ALLOC_GROW(o.rels.v, o.rels.n + 1, o.rels.alloc);
	memmove(o.rels.v + 1, o.rels.v, o.rels.n * sizeof(*o.rels.v));
	o.rels.n++;
	struct release *r = &o.rels.v[0];
	memset(r, 0, sizeof(*r));
	active = ro_find(&o, "active");
	r->project = xstrdup(o.project);
	r->environment = xstrdup(o.environment);
	r->rollout = xstrdup(o.name);
	r->id = xasprintf("r%zu-%s", o.rels.n, hash);
	r->colour = xstrdup(active && !strcmp(active->colour, "blue") ? "green" : "blue");
	r->status = xstrdup("preview");
	engine_logf(o.env->observer, CRATIS_LOG_INFO, NULL, "%s: release %s (%s)", o.name, r->id, r->colour);
	if ((rc = ro_run_hooks(&o, r, "beforePreProd"))) {
		ro_set_str(&r->status, "failed");
		ro_record(&o, r, "beforePreProd", "failed", cratis_error_last()->message);
		error_prefix("release %s aborted before its island was built", r->id);
		goto out_release;
	}
	struct release *stopped = NULL;
	if (!strcmp(ro_sget(o.spec, "strategy", "blueGreen"), "recreate") && active) {
		/* recreate: the live release stops before the new one starts (downtime, one process) */
		ro_service(&o, OP_DESTROY, active);
		ro_set_str(&active->status, "stopped");
		ro_record(&o, active, "recreate", "ok", "stopped to make room for the new release");
		stopped = active;
		active = NULL;
	}
	const char *left = active ? "the live release keeps serving" : stopped ? "the previous release was started again" : "nothing is live";
	if ((rc = ro_allocate_port(&o, r))) {
		char *msg = xstrdup(cratis_error_last()->message);
		ro_set_str(&r->status, "failed");
		ro_record(&o, r, "preProd", "failed", msg);
		ro_restore(&o, stopped);
		error_set(rc, "release %s did not start: %s; %s", r->id, msg, left);
		free(msg);
		goto out_release;
	}
	r->spec = ro_service_spec(tmpl, r->port);
	ro_record(&o, r, "preProd", "started", NULL);
	if ((rc = ro_service(&o, OP_APPLY, r))) {
		char *msg = xstrdup(cratis_error_last()->message);
		ro_set_str(&r->status, "failed");
		ro_record(&o, r, "preProd", "failed", msg);
		ro_restore(&o, stopped);
		error_set(rc, "release %s did not start: %s; %s", r->id, msg, left);
		free(msg);
		goto out_release;
	}
	if ((rc = ro_route(&o, active ? active->port : 0, r->port))) {
		ro_teardown(&o, r, active, "failed");
		ro_restore(&o, stopped);
		goto out_release;
	}
	ro_record(&o, r, "preProd", "ok", "island up");
	if ((rc = ro_run_hooks(&o, r, "afterPreProd")) || (rc = ro_run_hooks(&o, r, "exitTests"))) {
		char *msg = xstrdup(cratis_error_last()->message);
		ro_teardown(&o, r, active, "failed");
		ro_restore(&o, stopped);
		error_set(rc, "release %s aborted: %s; island torn down, %s", r->id, msg, left);
		free(msg);
		goto out_release;
	}
	json_t *auto_p = json_object_get(o.spec, "autoPromotion");
	if (auto_p && json_is_false(auto_p)) {
		ro_record(&o, r, "awaitingPromotion", "ok", "autoPromotion is false: `cratis rollout promote` switches traffic");
		engine_logf(o.env->observer, CRATIS_LOG_INFO, NULL, "%s: release %s passed its exit tests; awaiting `cratis rollout promote`", o.name, r->id);
		goto out_outputs;
	}
	if ((rc = ro_promote(&o, r, stopped)))
		goto out_release;
out_outputs:
	{
		struct release *a = ro_find(&o, "active"), *p = ro_find(&o, "preview");
		json_t *outputs = json_pack("{s:s,s:s,s:s?,s:s?}", "activeUrl", "", "previewUrl", "",
		                            "active", a ? a->id : NULL, "preview", p ? p->id : NULL);
		char *au = ro_url_of(ro_iget(o.spec, "activePort", 0)), *pu = ro_url_of(ro_iget(o.spec, "previewPort", 0));
		json_object_set_new(outputs, "activeUrl", json_string(au));
		json_object_set_new(outputs, "previewUrl", json_string(pu));
		free(au);
		free(pu);
		json_t *doc = json_pack("{s:o}", "outputs", outputs);
		*out = json_dumps(doc, JSON_COMPACT);
		json_decref(doc);
	}
out_release:
	ro_op_release(&o);
	if (rc)
		host_services.error(req->call, NULL, "%s", cratis_error_last()->message);
	return rc;
}

static int destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)out;
	struct rollout_target t;
	char *spec = target_of(req, true, &t);
	struct rop o;
	int rc = ro_op_load(&o, data, &t);
	o.parent = req;
	if (!rc) {
		for (size_t i = 0; i < o.rels.n; i++) {
			struct release *r = &o.rels.v[i];
			if (!strcmp(r->status, "active") || !strcmp(r->status, "previous") || !strcmp(r->status, "preview") ||
			    !strcmp(r->status, "variant") || !strcmp(r->status, "promoting") || !strcmp(r->status, "retiring") || !strcmp(r->status, "failing"))
				ro_retire(&o, r, "rollout destroyed");
		}
		ro_route_destroy(&o);
	}
	ro_op_release(&o);
	free(spec);
	return rc;
}

static int observe(void *data, const struct cratis_request *req, char **out)
{
	struct rollout_target t;
	char *spec = target_of(req, true, &t);
	struct rop o;
	json_t *doc = NULL;
	if (!ro_op_load(&o, data, &t)) {
		o.parent = req;
		struct release *a = ro_find(&o, "active"), *last = NULL;
		char hash[9] = "";
		ro_release_hash(&o, json_object_get(o.spec, "template"), hash); /* "" on failure: no match */
		for (size_t i = 0; *hash && i < o.rels.n && !last; i++)
			if (ro_same_template(&o.rels.v[i], hash))
				last = &o.rels.v[i]; /* the newest release of the recorded template */
		char *why = NULL;
		if (ro_unsettled(&o))
			why = xasprintf("a switch between releases was interrupted; apply completes it");
		else if (last && last->status && !strcmp(last->status, "aborted"))
			why = xasprintf("release %s of this template was aborted; apply releases it again", last->id);
		/* a release process that exited or lost its port is drift of its child Service
		 * (Service/NAME.RELEASE), which the engine refreshes and repairs on its own: the
		 * Rollout never re-releases for it */
		(void)a;
		if (why)
			doc = json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", why);
		free(why);
	}
	if (!doc)
		doc = json_pack("{s:b,s:b}", "exists", 1, "drift", 0);
	*out = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	ro_op_release(&o);
	free(spec);
	return CRATIS_OK;
}

int rollout_register(struct registry *reg, struct rollout_env *env, struct diags *errors)
{
	static const struct cratis_ops ops = { sizeof(struct cratis_ops), validate, NULL, apply, destroy, observe };
	static const char *const versions[] = { "v1", NULL };
	struct cratis_handler h = { sizeof(h), "cratis", "Rollout", versions, &ops, env, NULL }; /* fields: src/model/schema.c */
	struct plugin *p = xcalloc(1, sizeof(*p));
	p->name = xstrdup("cratis");
	p->version = xstrdup(CRATIS_CORE_VERSION);
	p->path = xstrdup("(built in)");
	p->form = PLUGIN_CORE;
	ALLOC_GROW(reg->plugins, reg->nplugins + 1, reg->aplugins);
	reg->plugins[reg->nplugins++] = p;
	return registry_add_handler(reg, p, &h, errors);
}

