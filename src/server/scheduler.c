/* The scheduler of `cratis serve` (docs/server.md "Scheduler"): a thread that, every --tick,
 * visits each registered project's environments and, where the store says there is work (read
 * without the lock: an experiment running or concluding, a previous release due to be scaled
 * down or a switch left unsettled), opens the project and ticks its experiments once and
 * scales down its due releases, each under the environment's lock taken without waiting (a held
 * lock skips it until the next pass). All through the application layer (src/app). */
#define _GNU_SOURCE
#include "http.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "banned.h"

/* Sleep ms in 50 ms steps; false as soon as the server is shutting down. */
static bool nap(struct server *s, int ms)
{
	for (int t = 0; t < ms && !atomic_load(s->o.cancel); t += 50) {
		struct timespec ts = { 0, 50 * 1000 * 1000L };
		nanosleep(&ts, NULL);
	}
	return !atomic_load(s->o.cancel);
}

/* Log a problem of project name once until it changes (last: {project/env: message}). */
static void note(struct server *s, json_t *last, const char *key, const struct diags *d)
{
	const char *msg = d->n ? d->v[0].message : NULL;
	const char *before = json_string_value(json_object_get(last, key));
	if (msg && (!before || strcmp(before, msg)))
		log_line(s, "scheduler: %s: %s", key, msg);
	if (msg)
		json_object_set_new(last, key, json_string(msg));
	else
		json_object_del(last, key);
}

/* The upkeep of environment env of the project at path; *running gets its running experiments. */
static void visit(struct server *s, const char *name, const char *path, const char *env, json_t *last,
                  uint64_t *running)
{
	struct req fake = { .srv = s, .command_line = "cratis serve: scheduler" };
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	size_t nexp = 0;
	bool rollouts = false;
	char *key = xasprintf("%s/%s", name, env);
	int rc = srv_open_app(&fake, path, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc)
		rc = app_upkeep_due(a, env, &nexp, &rollouts, &d);
	srv_close_app(&fake, a);
	a = NULL;
	*running += nexp;
	if (!rc && (nexp || rollouts) && !atomic_load(s->o.cancel)) {
		size_t ticked = 0, scaled = 0;
		/* the app's lock timeout is 0: a held lock is ELOCKED at once, the next pass retries */
		if (!(rc = srv_open_app(&fake, path, env, APP_LOAD_MANIFESTS, NULL, &a, &d))) {
			if (nexp)
				rc = app_experiments_tick(a, &ticked, NULL, &d);
			if (rollouts && !atomic_load(s->o.cancel)) {
				struct diags rd = DIAGS_INIT;
				int rrc = app_rollouts_maintain(a, &scaled, &rd);
				if (rrc && !rc) {
					rc = rrc;
					diags_move(&d, &rd);
				}
				diags_release(&rd);
			}
		}
		srv_close_app(&fake, a);
		pthread_mutex_lock(&s->mu);
		s->experiment_ticks += ticked;
		s->scale_downs += scaled;
		if (scaled)
			s->deploy_finished++; /* their events go out at once (the dispatcher) */
		pthread_mutex_unlock(&s->mu);
		if (scaled)
			log_line(s, "scheduler: %s: scaled down the previous release of %zu rollout%s", key, scaled, scaled == 1 ? "" : "s");
	}
	note(s, last, key, rc ? &d : &(struct diags)DIAGS_INIT);
	free(key);
	diags_release(&d);
	error_clear();
}

/* One pass over every registered project's environments. */
static void pass(struct server *s, json_t *last)
{
	server_projects_refresh(s);
	pthread_mutex_lock(&s->mu);
	json_t *projects = json_deep_copy(s->projects);
	pthread_mutex_unlock(&s->mu);
	uint64_t running = 0;
	size_t i;
	json_t *p;
	json_array_foreach(projects, i, p) {
		if (atomic_load(s->o.cancel))
			break;
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *path = json_string_value(json_object_get(p, "path"));
		struct req fake = { .srv = s };
		struct diags d = DIAGS_INIT;
		struct app *a = NULL;
		json_t *envs = NULL;
		int rc = srv_open_app(&fake, path, NULL, APP_LOAD_STATE, NULL, &a, &d);
		if (!rc)
			rc = app_environments(a, &envs, &d);
		srv_close_app(&fake, a);
		note(s, last, name, rc ? &d : &(struct diags)DIAGS_INIT);
		diags_release(&d);
		size_t k;
		json_t *e;
		json_array_foreach(envs, k, e) {
			if (atomic_load(s->o.cancel))
				break;
			visit(s, name, path, json_string_value(json_object_get(e, "name")), last, &running);
		}
		json_decref(envs);
	}
	json_decref(projects);
	pthread_mutex_lock(&s->mu);
	s->experiments_running = running;
	pthread_mutex_unlock(&s->mu);
}

struct sched {
	struct server *s;
};

static void *scheduler_run(void *arg)
{
	struct sched *sc = arg;
	struct server *s = sc->s;
	int tick = s->o.tick_ms > 0 ? s->o.tick_ms : 5000;
	json_t *last = json_object(); /* the last problem logged per project or environment */
	while (nap(s, tick))
		pass(s, last);
	json_decref(last);
	free(sc);
	error_clear();
	return NULL;
}

int scheduler_start(struct server *s, pthread_t *th)
{
	struct sched *sc = xcalloc(1, sizeof(*sc));
	sc->s = s;
	int e = pthread_create(th, NULL, scheduler_run, sc);
	if (e)
		free(sc);
	return e;
}

void scheduler_stop(struct server *s, pthread_t th)
{
	(void)s;
	pthread_join(th, NULL); /* it sees the cancellation word within 50 ms, or after its tick */
}
