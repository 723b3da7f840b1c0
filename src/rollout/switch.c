/* Releases: the switches between releases (promote, rollback, abort, scale-down, teardown); each
 * switch is recorded in one function, as one unit of work (store_releases_put). */
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
#include "events/emit.h"
#include "banned.h"

void ro_retire(struct rop *o, struct release *r, const char *why)
{
	ro_service(o, OP_DESTROY, r);
	ro_set_str(&r->status, "retired");
	ro_record(o, r, "scaleDown", "ok", why);
	engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "%s: release %s scaled down (%s)", o->name, r->id, why);
}

void ro_scale_down(struct rop *o)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < o->rels.n; i++) {
		struct release *r = &o->rels.v[i];
		if (r->status && !strcmp(r->status, "previous") && r->retire_at && r->retire_at <= now)
			ro_retire(o, r, "scaleDownDelaySeconds passed");
	}
}

/* Tear a failed island down; the live release keeps serving. */
void ro_teardown(struct rop *o, struct release *r, const struct release *active, const char *status)
{
	ro_service(o, OP_DESTROY, r);
	if (active)
		ro_route(o, active->port, active->port);
	else
		ro_route_destroy(o);
	ro_set_str(&r->status, status);
	ro_record(o, r, r->stage ? r->stage : "teardown", status, "island torn down");
}

/* recreate: start the release stopped for r again and route traffic back to it. */
void ro_restore(struct rop *o, struct release *old)
{
	if (!old)
		return;
	if (ro_service(o, OP_APPLY, old) || ro_route(o, old->port, old->port)) {
		ro_record(o, old, "restore", "failed", cratis_error_last()->message);
		return;
	}
	ro_set_str(&old->status, "active");
	old->retire_at = 0;
	ro_record(o, old, "restore", "ok", "started again after the new release failed");
}

static bool is(const struct release *r, const char *status)
{
	return r->status && !strcmp(r->status, status);
}

/* Stop the process of every release a switch left retiring (-> retired) or failing (-> failed),
 * each recorded once it is stopped. A run killed in between leaves the transient status, which
 * the next run settles (ro_settle) by coming here again: nothing is left running untracked. */
static void finish_stops(struct rop *o)
{
	for (size_t i = 0; i < o->rels.n; i++) {
		struct release *x = &o->rels.v[i];
		bool retiring = is(x, "retiring");
		if (!retiring && !is(x, "failing"))
			continue;
		ro_service(o, OP_DESTROY, x);
		ro_set_str(&x->status, retiring ? "retired" : "failed");
		ro_record(o, x, retiring ? "scaleDown" : "teardown", "ok", "process stopped");
	}
}

/* THE SWITCH (promote, rollback, and an interrupted one settled): r becomes the active release,
 * the release that was active becomes the previous one (kept hot for scaleDownDelaySeconds),
 * any older previous one is marked retiring, and stopped (recreate: the release stopped to make
 * room for r, or NULL) retired; all of it written as one unit of work (store_releases_put), so a
 * crash leaves either the old assignment or the new one, never two active releases. The caller
 * has routed traffic to r first; finish_stops then stops what retires. */
/* ro_save of a switch (v[0] is the release switched to) with its outbox event, rollout.promoted
 * or rollout.rolledback with its reason, in the same transaction (store_releases_put_ev): the
 * switch and its event commit together or neither does. */
static int save_switch(struct rop *o, struct release *const *v, size_t n, const struct release *from, bool rolledback,
                       const char *reason)
{
	struct rollout_event ev;
	events_rollout_event(&ev, o->project, o->environment, o->name, v[0]->id, from ? from->id : NULL, rolledback, reason);
	struct release *rows = xcalloc(n, sizeof(*rows));
	for (size_t i = 0; i < n; i++)
		rows[i] = *v[i]; /* shallow: the strings stay v's */
	int rc = store_releases_put_ev(o->env->store, rows, n, &(struct store_emits){ .events = &ev.ev, .n = 1 });
	free(rows);
	events_rollout_release(&ev);
	if (rc)
		engine_logf(o->env->observer, CRATIS_LOG_WARN, NULL, "%s: cannot record release %s and the releases it switches with: %s",
		            o->name, v[0]->id, cratis_error_last()->message);
	return rc;
}

static int switch_live(struct rop *o, struct release *r, struct release *stopped, const char *stage, const char *why)
{
	const struct release *from = NULL;
	struct release **changed = xcalloc(o->rels.n + 1, sizeof(*changed));
	size_t n = 0;
	int delay = ro_iget(o->spec, "scaleDownDelaySeconds", 30);
	ro_set_str(&r->status, "active");
	r->retire_at = 0;
	ro_note(o, r, stage, "ok", why);
	changed[n++] = r;
	for (size_t i = 0; i < o->rels.n; i++) {
		struct release *x = &o->rels.v[i];
		if (x == r)
			continue;
		if (is(x, "active")) {
			from = x;
			ro_set_str(&x->status, "previous");
			x->retire_at = delay > 0 ? (int64_t)time(NULL) + delay : 0;
			ro_note(o, x, stage, "ok", !strcmp(stage, "rollback") ? "rolled back from; kept hot" : "kept hot for rollback");
			changed[n++] = x;
		} else if (is(x, "previous") || is(x, "promoting")) {
			ro_set_str(&x->status, "retiring");
			ro_note(o, x, "scaleDown", "started", "superseded by a newer previous release");
			changed[n++] = x;
		} else if (x == stopped) {
			ro_set_str(&x->status, "retired");
			ro_note(o, x, stage, "ok", "replaced (recreate)");
			changed[n++] = x;
		}
	}
	bool back = !strcmp(stage, "rollback");
	int rc = save_switch(o, changed, n, from, back, back ? "cratis rollout rollback" : NULL);
	free(changed);
	return rc;
}

/* Mark r as the release traffic is switching to, before the router moves: a run killed between
 * here and switch_live leaves r promoting, and the next run completes the switch. */
static int switch_intent(struct rop *o, struct release *r, const char *stage)
{
	ro_set_str(&r->status, "promoting");
	ro_note(o, r, stage, "started", "switching traffic");
	return ro_save(o, &r, 1);
}

/* THE AUTOMATIC ROLLBACK after a failed afterPostProd check: back is active again and r is
 * failing (its process stopped by finish_stops), in one unit of work; then traffic moves back. */
static int switch_back(struct rop *o, struct release *back, struct release *r, const char *msg)
{
	ro_set_str(&back->status, "active");
	back->retire_at = 0;
	ro_note(o, back, "rollback", "ok", "automatic rollback after a failed afterPostProd check");
	ro_set_str(&r->status, "failing");
	ro_note(o, r, "afterPostProd", "failed", msg);
	struct release *v[2] = { back, r };
	int rc = save_switch(o, v, 2, r, true, msg);
	ro_route(o, back->port, back->port);
	finish_stops(o);
	return rc;
}

bool ro_unsettled(const struct rop *o)
{
	size_t active = 0;
	for (size_t i = 0; i < o->rels.n; i++) {
		const struct release *x = &o->rels.v[i];
		if (is(x, "promoting") || is(x, "retiring") || is(x, "failing"))
			return true;
		active += is(x, "active");
	}
	return active > 1;
}

void ro_settle(struct rop *o)
{
	if (!ro_unsettled(o))
		return;
	engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "%s: settling a switch between releases that was interrupted", o->name);
	struct release *p = ro_find(o, "promoting");
	if (p) {
		/* the switch had begun (hooks passed, traffic may have moved): complete it */
		if (ro_route(o, p->port, p->port) == CRATIS_OK) {
			switch_live(o, p, NULL, "promote", "completed a switch that an interrupted run had begun");
		} else {
			ro_set_str(&p->status, "preview");
			ro_record(o, p, "promote", "failed", cratis_error_last()->message);
		}
	}
	/* two active releases (recorded by an older cratis): the newest stays */
	struct release *a = ro_find(o, "active");
	for (size_t i = 0; a && i < o->rels.n; i++) {
		struct release *x = &o->rels.v[i];
		if (x != a && is(x, "active")) {
			ro_set_str(&x->status, "retiring");
			ro_record(o, x, "scaleDown", "started", "a second active release, left by an interrupted switch");
		}
	}
	if (a) {
		struct release *pv = ro_find(o, "preview");
		ro_route(o, a->port, pv ? pv->port : a->port); /* the router as the store says */
	}
	finish_stops(o);
}

/* Switch traffic to r; the active release becomes the hot previous one. stopped (recreate) is
 * the release stopped to make room for r: restarted when r fails, retired when r is live. */
int ro_promote(struct rop *o, struct release *r, struct release *stopped)
{
	struct release *active = ro_find(o, "active");
	if (ro_run_hooks(o, r, "promote")) {
		char *msg = xstrdup(cratis_error_last()->message);
		ro_teardown(o, r, active, "failed");
		ro_restore(o, stopped);
		error_set(CRATIS_ERROR, "release %s not promoted: %s; %s", r->id, msg,
		          active ? "the live release keeps serving" : stopped ? "the previous release was started again" : "nothing was live");
		free(msg);
		return CRATIS_ERROR;
	}
	if (switch_intent(o, r, "promote"))
		return error_set(CRATIS_EIO, "release %s not promoted: %s", r->id, cratis_error_last()->message);
	if (ro_route(o, r->port, r->port)) {
		char *msg = xstrdup(cratis_error_last()->message);
		ro_set_str(&r->status, "preview");
		ro_record(o, r, "promote", "failed", msg);
		error_set(CRATIS_ERROR, "release %s not promoted: switching traffic failed: %s", r->id, msg);
		free(msg);
		return CRATIS_ERROR;
	}
	if (switch_live(o, r, stopped, "promote", "traffic switched"))
		return error_set(CRATIS_EIO, "release %s: traffic switched, but recording it failed (the next run completes it): %s", r->id,
		                 cratis_error_last()->message);
	engine_logf(o->env->observer, CRATIS_LOG_INFO, NULL, "%s: release %s is live on %d", o->name, r->id, ro_iget(o->spec, "activePort", 0));
	finish_stops(o);
	if (ro_run_hooks(o, r, "afterPostProd")) {
		char *msg = xstrdup(cratis_error_last()->message);
		if (active) {
			switch_back(o, active, r, msg);
			error_set(CRATIS_ERROR, "afterPostProd check of release %s failed: %s; rolled back to %s", r->id, msg, active->id);
		} else if (stopped) {
			ro_service(o, OP_DESTROY, r);
			ro_set_str(&r->status, "failed");
			ro_record(o, r, "afterPostProd", "failed", msg);
			ro_restore(o, stopped);
			error_set(CRATIS_ERROR, "afterPostProd check of release %s failed: %s; rolled back to %s (started again)", r->id, msg, stopped->id);
		} else {
			ro_teardown(o, r, NULL, "failed");
			error_set(CRATIS_ERROR, "afterPostProd check of release %s failed: %s; nothing to roll back to, release removed", r->id, msg);
		}
		free(msg);
		return CRATIS_ERROR;
	}
	return CRATIS_OK;
}

bool rollout_release_healthy(const struct release *r)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)r->port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bool ok = fd >= 0 && r->port > 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

int rollout_promote(struct rollout_env *env, const struct rollout_target *t)
{
	struct rop o;
	int rc = ro_op_load(&o, env, t);
	if (!rc) {
		ro_settle(&o);
		struct release *p = ro_find(&o, "preview");
		rc = p ? ro_promote(&o, p, NULL) : error_set(CRATIS_ENOTFOUND, "rollout '%s' has no release in preview to promote", t->name);
	}
	ro_op_release(&o);
	return rc;
}

bool rollout_maintenance_due(const struct releases *rels, int64_t now)
{
	size_t active = 0;
	for (size_t i = 0; i < rels->n; i++) {
		const struct release *x = &rels->v[i];
		if (is(x, "promoting") || is(x, "retiring") || is(x, "failing"))
			return true;
		if (is(x, "previous") && x->retire_at && x->retire_at <= now)
			return true;
		active += is(x, "active");
	}
	return active > 1;
}

int rollout_maintain(struct rollout_env *env, const struct rollout_target *t, bool *did)
{
	struct rop o;
	*did = false;
	int rc = ro_op_load(&o, env, t);
	if (!rc && rollout_maintenance_due(&o.rels, (int64_t)time(NULL))) {
		ro_settle(&o);
		ro_scale_down(&o);
		*did = true;
	}
	ro_op_release(&o);
	return rc;
}

int rollout_abort(struct rollout_env *env, const struct rollout_target *t)
{
	struct rop o;
	int rc = ro_op_load(&o, env, t);
	if (!rc) {
		ro_settle(&o);
		struct release *p = ro_find(&o, "preview");
		if (p)
			ro_teardown(&o, p, ro_find(&o, "active"), "aborted");
		else
			rc = error_set(CRATIS_ENOTFOUND, "rollout '%s' has no release in preview to abort", t->name);
	}
	ro_op_release(&o);
	return rc;
}

/* The stage at which r failed a check before it could take traffic (heap), or NULL when it
 * passed its exit tests (or promotion) and never failed one. */
static char *failed_check(const struct release *r)
{
	static const char *const checks[] = { "beforePreProd", "preProd", "afterPreProd", "exitTests", "promote", "afterPostProd" };
	json_t *log = r->log ? json_loads(r->log, 0, NULL) : NULL;
	char *failed = NULL;
	bool passed = false;
	size_t i;
	json_t *e;
	json_array_foreach(log, i, e) {
		const char *stage = ro_sget(e, "stage", ""), *result = ro_sget(e, "result", "");
		if (!strcmp(result, "ok") && (!strcmp(stage, "exitTests") || !strcmp(stage, "awaitingPromotion") || !strcmp(stage, "promote") ||
		                              !strcmp(stage, "rollback") || !strcmp(stage, "restore")))
			passed = true;
		for (size_t k = 0; !failed && k < sizeof(checks) / sizeof(checks[0]); k++)
			if (!strcmp(stage, checks[k]) && !strcmp(result, "failed"))
				failed = xasprintf("it failed its %s %s", stage, !strcmp(stage, "preProd") ? "start-up" : "checks");
	}
	json_decref(log);
	if (!failed && !passed)
		failed = xstrdup("it never passed its exit tests");
	return failed;
}

int rollout_rollback(struct rollout_env *env, const struct rollout_target *t, const char *to, bool force)
{
	struct rop o;
	int rc = ro_op_load(&o, env, t);
	if (rc)
		goto out_release;
	ro_settle(&o);
	struct release *active = ro_find(&o, "active");
	struct release *target = to ? ro_find_id(&o, to) : ro_find(&o, "previous");
	if (!target) {
		rc = error_set(CRATIS_ENOTFOUND, to ? "rollout '%s' has no release '%s'" : "rollout '%s' has no previous release to roll back to%s",
		               t->name, to ? to : "");
		goto out_release;
	}
	if (target == active) {
		rc = error_set(CRATIS_EINVAL, "release %s is already live", target->id);
		goto out_release;
	}
	char *failed = failed_check(target);
	if (failed && !force) {
		rc = error_set(CRATIS_ERROR, "refusing to put release %s live: %s (only releases that passed may take traffic; --force overrides)",
		               target->id, failed);
		free(failed);
		goto out_release;
	}
	if (failed)
		engine_logf(o.env->observer, CRATIS_LOG_WARN, NULL, "%s: release %s: %s; putting it live anyway (--force)", o.name, target->id, failed);
	free(failed);
	char *why = NULL;
	if (!ro_release_owns_port(&o, target, &why)) {
		/* scaled down (or dead): bring it back first (the Service's health check, and its check
		 * that its own process is what listens), then switch */
		engine_logf(o.env->observer, CRATIS_LOG_INFO, NULL, "%s: release %s is not running; redeploying it (%s)", o.name, target->id,
		            why ? why : "no process");
		free(why);
		if ((rc = ro_service(&o, OP_APPLY, target))) {
			rc = error_set(rc, "release %s could not be started again, traffic not switched: %s", target->id, cratis_error_last()->message);
			goto out_release;
		}
	}
	if ((rc = switch_intent(&o, target, "rollback")))
		goto out_release;
	if ((rc = ro_route(&o, target->port, target->port))) {
		char *msg = xstrdup(cratis_error_last()->message);
		ro_set_str(&target->status, "previous");
		ro_record(&o, target, "rollback", "failed", msg);
		rc = error_set(rc, "rollback to %s: switching traffic failed: %s", target->id, msg);
		free(msg);
		goto out_release;
	}
	if ((rc = switch_live(&o, target, NULL, "rollback", "traffic switched back")))
		goto out_release;
	finish_stops(&o);
	engine_logf(o.env->observer, CRATIS_LOG_INFO, NULL, "%s: rolled back to release %s", o.name, target->id);
out_release:
	ro_op_release(&o);
	return rc;
}
