/* Backend-independent part of the state store (see store.h): opening by URL, the clock, the lock
 * wait loop and liveness rules, units of work on top of the backend's commit, and releases. */
#define _GNU_SOURCE
#include "store.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cratis/plugin.h"
#include "secret/secret.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

int sqlite_backend_open(struct store **out, const char *target, const char *url);
int postgres_backend_open(struct store **out, const char *target, const char *url);

static const struct store_backend sqlite_backend = { 1, "sqlite", sqlite_backend_open };
/* any libpq connection URI: libpq accepts both spellings of the scheme */
static const struct store_backend postgres_backend = { 1, "postgres", postgres_backend_open };
static const struct store_backend postgresql_backend = { 1, "postgresql", postgres_backend_open };

/* Every backend this build has. */
static const struct store_backend *const backends[] = { &sqlite_backend, &postgres_backend, &postgresql_backend };
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

const char *store_schemes(void)
{
	return "sqlite, postgres, postgresql";
}

/* Length of url's scheme ("sqlite" in "sqlite:x"), or 0 when url is a plain path. */
static size_t scheme_len(const char *url)
{
	if (url[0] == '/' || url[0] == '.')
		return 0;
	size_t i = 0;
	if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
		return 0;
	while (url[i] && url[i] != ':' && url[i] != '/')
		i++;
	if (url[i] != ':')
		return 0;
	for (size_t k = 0; k < i; k++) {
		char c = url[k];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
			return 0;
	}
	return i;
}

int store_open(struct store **out, const char *url)
{
	*out = NULL;
	if (!url || !*url)
		return error_set(CRATIS_EINVAL, "state URL is empty (expected one of the schemes: %s)", store_schemes());
	size_t n = scheme_len(url);
	if (!n)
		return sqlite_backend_open(out, url, url);
	for (size_t i = 0; i < NBACKENDS; i++)
		if (strlen(backends[i]->scheme) == n && !strncasecmp(url, backends[i]->scheme, n)) {
			const char *target = url + n + 1;
			if (!strncmp(target, "//", 2) && backends[i] == &sqlite_backend)
				target += 2;
			return backends[i]->open(out, target, url);
		}
	return error_set(CRATIS_EINVAL, "state URL '%.*s:...': unknown scheme '%.*s' (this build knows: %s)",
	                 (int)n, url, (int)n, url, store_schemes());
}

int store_open_sqlite(struct store **out, const char *path)
{
	*out = NULL;
	return sqlite_backend_open(out, path, path);
}

static int64_t real_clock(void *payload)
{
	(void)payload;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void store_base_init(struct store *s, const struct store_ops *ops, const char *path)
{
	s->ops = ops;
	s->path = xstrdup(path);
	s->clock = real_clock;
	s->clock_payload = NULL;
	pthread_mutex_init(&s->held_mu, NULL);
	s->held = NULL;
	s->nheld = s->aheld = 0;
}

void store_base_release(struct store *s)
{
	free(s->path);
	free(s->held);
	pthread_mutex_destroy(&s->held_mu);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

const char *store_backend_name(const struct store *s)
{
	return s->ops->name;
}

int store_schema_version(struct store *s, int *out)
{
	return s->ops->schema_version(s, out);
}

void store_set_clock(struct store *s, store_clock_fn fn, void *payload)
{
	s->clock = fn ? fn : real_clock;
	s->clock_payload = fn ? payload : NULL;
}

int64_t store_now(const struct store *s)
{
	return s->clock(s->clock_payload);
}

void store_format_time(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- locks ---- */

static bool same_host(const struct lock_info *h)
{
	return !strcmp(h->host, host_name());
}

static bool pid_alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

bool store_lock_alive(const struct lock_info *h, int64_t now)
{
	if (same_host(h))
		return pid_alive(h->pid);
	return h->expires > now;
}

int store_refuse_live_holder(const struct lock_info *holder)
{
	char exp[32], why[64];
	store_format_time(holder->expires, exp);
	if (strcmp(holder->host, host_name()))
		snprintf(why, sizeof(why), "its lease runs until %s", exp);
	else
		snprintf(why, sizeof(why), "its process runs on this host");
	return error_set(CRATIS_ELOCKED, "refusing to release lock %s on environment '%s': its holder %s@%s pid %ld running '%s' since %s is alive (%s)",
	                 holder->id, holder->environment, holder->user, holder->host, holder->pid, holder->command, holder->since, why);
}

bool store_lock_takeable(const struct lock_info *h, int64_t now)
{
	if (same_host(h))
		return !pid_alive(h->pid); /* a live run on this host keeps its lock (stopped, asleep) */
	return h->expires <= now;
}

static void held_add(struct store *s, const struct lock_info *l)
{
	pthread_mutex_lock(&s->held_mu);
	ALLOC_GROW(s->held, s->nheld + 1, s->aheld);
	struct held_lock *h = &s->held[s->nheld++];
	snprintf(h->id, sizeof(h->id), "%s", l->id);
	snprintf(h->environment, sizeof(h->environment), "%s", l->environment);
	pthread_mutex_unlock(&s->held_mu);
}

static void held_remove(struct store *s, const char *id)
{
	pthread_mutex_lock(&s->held_mu);
	for (size_t i = 0; i < s->nheld; i++)
		if (!strcmp(s->held[i].id, id)) {
			s->held[i] = s->held[--s->nheld];
			break;
		}
	pthread_mutex_unlock(&s->held_mu);
}

/* The id of the lock this handle holds on environment into id (""= none). */
static void held_find(struct store *s, const char *environment, char id[40])
{
	id[0] = 0;
	pthread_mutex_lock(&s->held_mu);
	for (size_t i = 0; i < s->nheld && environment; i++)
		if (!strcmp(s->held[i].environment, environment)) {
			snprintf(id, 40, "%s", s->held[i].id);
			break;
		}
	pthread_mutex_unlock(&s->held_mu);
}

static void new_lock_id(char id[40])
{
	unsigned char rnd[8];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		/* no entropy: time and pid still make it unique enough for a display id */
		uint64_t x = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32);
		memcpy(rnd, &x, sizeof(rnd));
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
}

/* Every event of em needs a type and a source (what store_commit checks of a unit's events). */
static int check_emits(struct store *s, const struct store_emits *em)
{
	for (size_t i = 0; em && i < em->n; i++)
		if (!em->events[i].type || !*em->events[i].type || !em->events[i].source || !*em->events[i].source)
			return error_set(CRATIS_EINVAL, "state '%s': event %zu needs a type and a source", s->path, i + 1);
	return CRATIS_OK;
}

void store_emits_resolve(const struct store_emits *em, const struct store_emit_info *info, struct store_event **out)
{
	struct store_event *v = xcalloc(em->n ? em->n : 1, sizeof(*v));
	for (size_t i = 0; i < em->n; i++) {
		v[i] = em->events[i];
		char *data = em->data_for ? em->data_for(info, i, em->payload) : NULL;
		/* every data string of the copy is owned by it (store_emits_free frees them all) */
		v[i].data = data ? data : (em->events[i].data ? xstrdup(em->events[i].data) : NULL);
	}
	*out = v;
}

void store_emits_free(struct store_event *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free((char *)v[i].data);
	free(v);
}

int store_lock(struct store *s, struct lock_info *me, int timeout_ms, struct lock_info *holder)
{
	return store_lock_ev(s, me, timeout_ms, holder, NULL);
}

int store_lock_ev(struct store *s, struct lock_info *me, int timeout_ms, struct lock_info *holder,
                  const struct store_emits *em)
{
	int crc = check_emits(s, em);
	if (crc)
		return crc;
	new_lock_id(me->id);
	if (!me->owner[0])
		snprintf(me->owner, sizeof(me->owner), "%.40s@%.60s:%ld", me->user, me->host, me->pid);
	if (me->lease_ms <= 0)
		me->lease_ms = STORE_LEASE_MS_DEFAULT;
	me->deployment = 0;
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		me->acquired = me->heartbeat = store_now(s);
		me->expires = me->acquired + me->lease_ms;
		store_format_time(me->acquired, me->since);
		bool took_over = false;
		memset(holder, 0, sizeof(*holder));
		int rc = s->ops->try_lock(s, me, holder, &took_over, em);
		if (!rc) {
			held_add(s, me);
			if (!took_over)
				memset(holder, 0, sizeof(*holder));
			return CRATIS_OK;
		}
		if (rc != CRATIS_ELOCKED)
			return rc;
		if (now_ms() >= deadline) {
			char exp[32];
			store_format_time(holder->expires, exp);
			return error_set(CRATIS_ELOCKED, "environment '%s' is locked by %s@%s pid %ld running '%s' since %s, lease until %s (lock id %s; `cratis state unlock %s` if that run is gone)",
			                 holder->environment, holder->user, holder->host, holder->pid, holder->command,
			                 holder->since, exp, holder->id, holder->id);
		}
		usleep(100000);
	}
}

int store_lock_renew(struct store *s, const char *lock_id)
{
	return s->ops->renew(s, lock_id);
}

int store_lock_set_deployment(struct store *s, const char *lock_id, int64_t deployment)
{
	return s->ops->lock_set_deployment(s, lock_id, deployment);
}

int store_unlock(struct store *s, const char *lock_id)
{
	int rc = s->ops->unlock(s, lock_id, true, false, NULL);
	held_remove(s, lock_id);
	return rc;
}

int store_lock_break(struct store *s, const char *lock_id, bool force, struct lock_info *holder)
{
	struct lock_info tmp;
	int rc = s->ops->unlock(s, lock_id, force, true, holder ? holder : &tmp);
	if (!rc)
		held_remove(s, lock_id);
	return rc;
}

int store_locks(struct store *s, struct lock_info **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	return s->ops->locks(s, out, n);
}

/* ---- resources and units of work ---- */

int store_list(struct store *s, const char *environment, const char *project, struct state_rows *out)
{
	memset(out, 0, sizeof(*out));
	int rc = s->ops->list(s, environment, project, out);
	if (!rc)
		rc = store_children(s, environment, out);
	if (rc)
		store_rows_release(out);
	return rc;
}

int store_commit(struct store *s, const struct store_unit *u)
{
	if (u->change != STORE_CHANGE_NONE && (!u->row || !u->row->project || !u->row->id))
		return error_set(CRATIS_EINVAL, "state '%s': a unit of work changing a resource needs its project and id", s->path);
	if (u->change == STORE_CHANGE_RECORD && !u->row->status)
		return error_set(CRATIS_EINVAL, "state '%s': recording %s needs a status", s->path, u->row->id);
	for (size_t i = 0; i < u->nevents; i++)
		if (!u->events[i].type || !*u->events[i].type || !u->events[i].source || !*u->events[i].source)
			return error_set(CRATIS_EINVAL, "state '%s': event %zu of a unit of work needs a type and a source", s->path, i + 1);
	if (!u->environment)
		return error_set(CRATIS_EINVAL, "state '%s': a unit of work needs an environment", s->path);
	if (u->change == STORE_CHANGE_RENAME && !u->old_id)
		return error_set(CRATIS_EINVAL, "state '%s': renaming %s needs the old id", s->path, u->row->id);
	return s->ops->commit(s, u);
}

int store_mark_pending(struct store *s, const char *environment, const struct state_row *r)
{
	struct store_unit u = { .environment = environment, .change = STORE_CHANGE_PENDING, .row = r,
	                        .deployment = r->deployment };
	return store_commit(s, &u);
}

int store_record(struct store *s, const char *environment, const struct state_row *r,
                 const struct step *st, int64_t deployment)
{
	struct store_unit u = { .environment = environment, .change = STORE_CHANGE_RECORD, .row = r,
	                        .step = st, .deployment = deployment };
	return store_commit(s, &u);
}

int store_remove(struct store *s, const char *environment, const char *project, const char *id,
                 const struct step *st, int64_t deployment)
{
	struct state_row r = { .project = (char *)project, .id = (char *)id };
	struct store_unit u = { .environment = environment, .change = STORE_CHANGE_REMOVE, .row = &r,
	                        .step = st, .deployment = deployment };
	return store_commit(s, &u);
}

int store_rename(struct store *s, const char *environment, const char *project, const char *old_id,
                 const char *new_id, const struct step *st, int64_t deployment)
{
	struct state_row r = { .project = (char *)project, .id = (char *)new_id };
	struct store_unit u = { .environment = environment, .change = STORE_CHANGE_RENAME, .row = &r,
	                        .step = st, .deployment = deployment, .old_id = old_id };
	return store_commit(s, &u);
}

int store_deployment_begin(struct store *s, struct deployment *d)
{
	return store_deployment_begin_ev(s, d, NULL);
}

int store_deployment_finish(struct store *s, const struct deployment *d)
{
	return store_deployment_finish_ev(s, d, NULL);
}

int store_deployment_begin_ev(struct store *s, struct deployment *d, const struct store_emits *em)
{
	int rc = check_emits(s, em);
	if (rc)
		return rc;
	char lock_id[40];
	held_find(s, d->environment, lock_id);
	return s->ops->deployment_begin(s, d, lock_id[0] ? lock_id : NULL, em);
}

int store_deployment_finish_ev(struct store *s, const struct deployment *d, const struct store_emits *em)
{
	int rc = check_emits(s, em);
	return rc ? rc : s->ops->deployment_finish(s, d, em);
}

int store_history(struct store *s, const char *environment, int limit, struct deployments *out)
{
	memset(out, 0, sizeof(*out));
	int rc = s->ops->history(s, environment, limit, out);
	if (rc)
		store_deployments_release(out);
	return rc;
}

int store_steps(struct store *s, int64_t deployment, struct steps *out)
{
	memset(out, 0, sizeof(*out));
	int rc = s->ops->steps(s, deployment, out);
	if (rc)
		store_steps_release(out);
	return rc;
}

static void row_release(struct state_row *r)
{
	free(r->project);
	free(r->environment);
	free(r->id);
	free(r->api_version);
	free(r->spec);
	free(r->outputs);
	free(r->deps);
	free(r->status);
	free(r->pending_spec);
	free(r->message);
	free(r->updated);
	free(r->owner);
}

void store_rows_keep(struct state_rows *rows, bool (*keep)(const struct state_row *r, void *payload), void *payload)
{
	size_t n = 0;
	for (size_t i = 0; i < rows->n; i++) {
		if (keep(&rows->v[i], payload))
			rows->v[n++] = rows->v[i];
		else
			row_release(&rows->v[i]);
	}
	rows->n = n;
}

void store_rows_release(struct state_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++)
		row_release(&rows->v[i]);
	free(rows->v);
	memset(rows, 0, sizeof(*rows));
}

struct state_row *store_rows_find(struct state_rows *rows, const char *project, const char *id)
{
	/* rows are ordered by (project, id): binary search */
	size_t lo = 0, hi = rows->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(rows->v[mid].project, project);
		if (!c)
			c = strcmp(rows->v[mid].id, id);
		if (!c)
			return &rows->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void store_deployments_release(struct deployments *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct deployment *x = &d->v[i];
		free(x->project);
		free(x->environment);
		free(x->command);
		free(x->user);
		free(x->host);
		free(x->started);
		free(x->finished);
		free(x->result);
		free(x->summary);
		free(x->inputs);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void store_steps_release(struct steps *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].resource);
		free(st->v[i].action);
		free(st->v[i].result);
		free(st->v[i].message);
		free(st->v[i].started);
		free(st->v[i].finished);
	}
	free(st->v);
	memset(st, 0, sizeof(*st));
}

int store_artifact_record(struct store *s, const struct artifact *a, enum artifact_outcome *outcome,
                          struct artifact *existing)
{
	return s->ops->artifact_record(s, a, outcome, existing);
}

int store_artifacts(struct store *s, const char *name, bool history, struct artifacts *out)
{
	memset(out, 0, sizeof(*out));
	int rc = s->ops->artifacts(s, name, history, out);
	if (rc)
		store_artifacts_release(out);
	return rc;
}

void artifact_release(struct artifact *a)
{
	free(a->name);
	free(a->version);
	free(a->digest);
	free(a->recorded);
	free(a->user);
	memset(a, 0, sizeof(*a));
}

void store_artifacts_release(struct artifacts *a)
{
	for (size_t i = 0; i < a->n; i++)
		artifact_release(&a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

int store_release_put(struct store *s, const struct release *r)
{
	return s->ops->release_put(s, r, 1, NULL);
}

int store_release_allocate(struct store *s, struct release *r, const struct port_range *range)
{
	if (!range || range->lo < 1 || range->hi > 65535 || range->lo > range->hi)
		return error_set(CRATIS_EINVAL, "no port range to allocate release ports from");
	if (!s->ops->release_allocate)
		return error_set(CRATIS_EINVAL, "state '%s' (%s) cannot allocate release ports", s->path, s->ops->name);
	return s->ops->release_allocate(s, r, range);
}

int store_port_pick(const int *ports, const bool *retired_only, size_t n, const struct port_range *range)
{
	int span = range->hi - range->lo + 1;
	int start = range->start >= range->lo && range->start <= range->hi ? range->start : range->lo;
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < span; k++) {
			int port = range->lo + (start - range->lo + k) % span;
			bool held = false;
			for (size_t i = 0; i < n && !held; i++)
				held = ports[i] == port && (pass == 0 || !retired_only[i]);
			if (!held && (!range->usable || range->usable(port, range->payload)))
				return port;
		}
	}
	return 0;
}

/* ---- records ---- */

/* CRATIS_OK when s's backend has the record ops; else CRATIS_EINVAL. */
static int records_supported(const struct store *s)
{
	if (s->ops->version < 5 || !s->ops->record_put)
		return error_set(CRATIS_EINVAL, "state '%s' (%s) cannot keep records", s->path, s->ops->name);
	return CRATIS_OK;
}

/* CRATIS_OK for a usable key; else CRATIS_EINVAL naming what is wrong. */
static int check_record_key(const char *kind, const char *scope, const char *name)
{
	bool kind_ok = kind && *kind >= 'a' && *kind <= 'z';
	for (const char *p = kind; kind_ok && *p; p++)
		kind_ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-';
	if (!kind_ok)
		return error_set(CRATIS_EINVAL, "record kind '%s': expected [a-z][a-z0-9-]*", kind ? kind : "(null)");
	if (!scope)
		return error_set(CRATIS_EINVAL, "record %s: no scope (use \"\" for none)", kind);
	if (!name || !*name)
		return error_set(CRATIS_EINVAL, "record %s in scope '%s': empty name", kind, scope);
	return CRATIS_OK;
}

int store_record_put(struct store *s, struct record *r, int64_t expect, const struct store_emits *em)
{
	int rc = records_supported(s);
	if (!rc)
		rc = check_record_key(r->kind, r->scope, r->name);
	if (rc)
		return rc;
	if (expect < STORE_REV_ANY)
		return error_set(CRATIS_EINVAL, "record %s '%s': expected revision %lld is not a revision", r->kind, r->name, (long long)expect);
	json_error_t jerr;
	json_t *body = r->body ? json_loads(r->body, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	bool object = json_is_object(body);
	json_decref(body);
	if (!object)
		return error_set(CRATIS_EINVAL, "record %s '%s': the body is not a JSON object", r->kind, r->name);
	if ((rc = check_emits(s, em)))
		return rc;
	return s->ops->record_put(s, r, expect, em);
}

int store_record_get(struct store *s, const char *kind, const char *scope, const char *name, struct record *out)
{
	memset(out, 0, sizeof(*out));
	int rc = records_supported(s);
	if (!rc)
		rc = check_record_key(kind, scope, name);
	return rc ? rc : s->ops->record_get(s, kind, scope, name, out);
}

int store_records(struct store *s, const char *kind, const char *scope, struct records *out)
{
	memset(out, 0, sizeof(*out));
	int rc = records_supported(s);
	if (!rc)
		rc = check_record_key(kind, scope ? scope : "", "*");
	if (!rc)
		rc = s->ops->records(s, kind, scope, out);
	if (rc)
		store_records_release(out);
	return rc;
}

int store_record_delete(struct store *s, const char *kind, const char *scope, const char *name, int64_t expect,
                        const struct store_emits *em)
{
	int rc = records_supported(s);
	if (!rc)
		rc = check_record_key(kind, scope, name);
	if (!rc && (expect == 0 || expect < STORE_REV_ANY))
		rc = error_set(CRATIS_EINVAL, "record %s '%s': a delete expects a revision > 0 or any", kind, name);
	if (!rc)
		rc = check_emits(s, em);
	return rc ? rc : s->ops->record_delete(s, kind, scope, name, expect, em);
}

void record_release(struct record *r)
{
	free(r->kind);
	free(r->scope);
	free(r->name);
	free(r->body);
	free(r->created);
	free(r->updated);
	memset(r, 0, sizeof(*r));
}

void store_records_release(struct records *r)
{
	for (size_t i = 0; i < r->n; i++)
		record_release(&r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

int store_releases_put(struct store *s, const struct release *v, size_t n)
{
	return store_releases_put_ev(s, v, n, NULL);
}

int store_releases_put_ev(struct store *s, const struct release *v, size_t n, const struct store_emits *em)
{
	if (!n)
		return error_set(CRATIS_EINVAL, "no release to record");
	int rc = check_emits(s, em);
	return rc ? rc : s->ops->release_put(s, v, n, em);
}

int store_releases(struct store *s, const char *environment, const char *project, const char *rollout,
                   struct releases *out)
{
	memset(out, 0, sizeof(*out));
	int rc = s->ops->releases(s, environment, project, rollout, out);
	if (rc)
		store_releases_release(out);
	return rc;
}

void store_releases_release(struct releases *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct release *x = &r->v[i];
		free(x->project);
		free(x->environment);
		free(x->rollout);
		free(x->id);
		free(x->colour);
		free(x->spec);
		free(x->status);
		free(x->stage);
		free(x->log);
		free(x->created);
		free(x->updated);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* ---- the event outbox ---- */

static int outbox_op(struct store *s)
{
	if (s->ops->version < 3 || !s->ops->events)
		return error_set(CRATIS_EINVAL, "state '%s': the %s backend has no event outbox", s->path, s->ops->name);
	return CRATIS_OK;
}

int store_emit(struct store *s, const char *environment, int64_t deployment, const struct store_event *events,
               size_t nevents)
{
	if (!nevents)
		return CRATIS_OK;
	struct store_unit u = { .environment = environment ? environment : "", .change = STORE_CHANGE_NONE,
	                        .deployment = deployment, .events = events, .nevents = nevents };
	return store_commit(s, &u);
}

int store_events(struct store *s, const struct event_query *q, struct store_events *out)
{
	memset(out, 0, sizeof(*out));
	int rc = outbox_op(s);
	if (rc)
		return rc;
	struct event_query bq = *q;
	bq.limit = 0;
	if ((rc = s->ops->events(s, &bq, out))) {
		store_events_release(out);
		return rc;
	}
	size_t n = 0;
	for (size_t i = 0; i < out->n; i++) {
		struct cloud_event *e = &out->v[i];
		bool keep = (!q->type || cloud_event_match(q->type, e->type)) &&
		            (!q->subject || cloud_event_match(q->subject, e->subject)) && (!q->limit || n < q->limit);
		if (keep)
			out->v[n++] = *e;
		else
			cloud_event_free(e);
	}
	out->n = n;
	return CRATIS_OK;
}

void store_events_release(struct store_events *e)
{
	for (size_t i = 0; i < e->n; i++)
		cloud_event_free(&e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

int store_deliveries(struct store *s, const char *sink, size_t limit, struct event_deliveries *out)
{
	memset(out, 0, sizeof(*out));
	int rc = outbox_op(s);
	if (!rc && (rc = s->ops->deliveries(s, sink, limit, out)))
		store_deliveries_release(out);
	return rc;
}

void store_deliveries_release(struct event_deliveries *d)
{
	for (size_t i = 0; i < d->n; i++)
		cloud_event_free(&d->v[i].ev);
	free(d->v);
	memset(d, 0, sizeof(*d));
}

int store_delivery_mark(struct store *s, const char *sink, int64_t seq, const struct delivery_mark *m)
{
	struct delivery_mark one = *m;
	one.seq = seq;
	return store_delivery_marks(s, sink, &one, 1);
}

int store_delivery_marks(struct store *s, const char *sink, const struct delivery_mark *m, size_t n)
{
	int rc = outbox_op(s);
	if (rc || !n)
		return rc;
	return s->ops->delivery_mark(s, sink, m, n);
}

int store_sink_set_disabled(struct store *s, const char *sink, bool disabled, const char *reason)
{
	int rc = outbox_op(s);
	return rc ? rc : s->ops->sink_set_disabled(s, sink, disabled, reason);
}

int store_sink_status(struct store *s, const char *sink, struct store_sink_status *out)
{
	memset(out, 0, sizeof(*out));
	int rc = outbox_op(s);
	if (!rc && (rc = s->ops->sink_status(s, sink, out)))
		store_sink_status_release(out);
	return rc;
}

void store_sink_status_release(struct store_sink_status *st)
{
	free(st->reason);
	free(st->last_error);
	free(st->last_delivered);
	memset(st, 0, sizeof(*st));
}

int store_redeliver(struct store *s, const char *sink, const char *event_id, const char *since, size_t *n)
{
	size_t tmp;
	if (!n)
		n = &tmp;
	*n = 0;
	if (!event_id && !since)
		return error_set(CRATIS_EINVAL, "redeliver needs an event id or a time to redeliver from");
	int rc = outbox_op(s);
	return rc ? rc : s->ops->redeliver(s, sink, event_id, since, n);
}

/* ---- whole-store copies ---- */

static const char *const deployment_cols[] = { "id", "project", "environment", "command", "user", "host",
	                                       "started", "finished", "result", "summary", "inputs" };
static const char *const step_cols[] = { "deployment", "resource", "action", "result", "message", "started", "finished" };
static const char *const resource_cols[] = { "environment", "project", "id", "api_version", "spec", "outputs", "deps",
	                                     "status", "pending_spec", "message", "updated", "deployment" };
static const char *const artifact_cols[] = { "name", "version", "digest", "snapshot", "current", "recorded", "user" };
static const char *const release_cols[] = { "environment", "project", "rollout", "id", "colour", "port", "spec",
	                                    "status", "stage", "log", "created", "updated", "retire_at" };
#define COLS(a) a, sizeof(a) / sizeof(a[0])

static const char *const event_cols[] = { "seq", "id", "source", "type", "subject", "time", "data", "deployment" };
static const char *const delivery_cols[] = { "sink", "seq", "status", "attempts", "first_attempt", "next_attempt",
	                                     "last_error", "delivered" };
static const char *const sink_cols[] = { "name", "disabled", "reason", "last_error", "last_delivered" };
static const char *const record_cols[] = { "kind", "scope", "name", "body", "revision", "created", "updated" };

static const struct store_table_def table_defs[STORE_T__COUNT] = {
	[STORE_T_DEPLOYMENTS] = { "deployments", COLS(deployment_cols), "id", false },
	[STORE_T_STEPS] = { "steps", COLS(step_cols), "deployment", true },
	[STORE_T_RESOURCES] = { "resources", COLS(resource_cols), "environment, project, id", false },
	[STORE_T_ARTIFACTS] = { "artifacts", COLS(artifact_cols), NULL, true },
	[STORE_T_RELEASES] = { "releases", COLS(release_cols), NULL, true },
	[STORE_T_EVENTS] = { "events", COLS(event_cols), "seq", false },
	[STORE_T_DELIVERIES] = { "deliveries", COLS(delivery_cols), "sink, seq", false },
	[STORE_T_SINKS] = { "sinks", COLS(sink_cols), "name", false },
	[STORE_T_RECORDS] = { "records", COLS(record_cols), "kind, scope, name", false },
};

const struct store_table_def *store_table_def(enum store_table t)
{
	return &table_defs[t];
}

void store_dump_add_row(struct store_table_dump *t, const char *const *cells, size_t n)
{
	ALLOC_GROW(t->cells, (t->nrows + 1) * n, t->alloc);
	for (size_t i = 0; i < n; i++)
		t->cells[t->nrows * n + i] = cells[i] ? xstrdup(cells[i]) : NULL;
	t->nrows++;
}

void store_dump_release(struct store_dump *d)
{
	for (int k = 0; k < STORE_T__COUNT; k++) {
		struct store_table_dump *t = &d->t[k];
		for (size_t i = 0; i < t->nrows * table_defs[k].ncolumns; i++)
			free(t->cells[i]);
		free(t->cells);
	}
	memset(d, 0, sizeof(*d));
}

/* SHA-256 of table k of d in a canonical form: per cell, 'N' for NULL, else 'S', its length in
 * decimal, ':' and its bytes; rows in order. */
static int table_digest(const struct store_dump *d, int k, char out[65])
{
	const struct store_table_dump *t = &d->t[k];
	size_t nc = table_defs[k].ncolumns;
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < t->nrows * nc; i++) {
		const char *c = t->cells[i];
		if (!c) {
			buf_addch(&b, 'N');
		} else {
			buf_addf(&b, "S%zu:", strlen(c));
			buf_add(&b, c, strlen(c));
		}
	}
	int rc = secret_sha256_hex(out, b.ptr, b.len);
	buf_release(&b);
	return rc;
}

int store_migrate(struct store *from, struct store *to, struct store_migrate_report *report)
{
	memset(report, 0, sizeof(*report));
	for (int k = 0; k < STORE_T__COUNT; k++)
		report->t[k].name = table_defs[k].name;
	if (from->ops->version < 2 || !from->ops->dump)
		return error_set(CRATIS_EINVAL, "state '%s': the %s backend cannot be copied from", from->path, from->ops->name);
	if (to->ops->version < 2 || !to->ops->load)
		return error_set(CRATIS_EINVAL, "state '%s': the %s backend cannot be copied to", to->path, to->ops->name);
	if (from == to || (!strcmp(from->ops->name, to->ops->name) && !strcmp(from->path, to->path)))
		return error_set(CRATIS_EINVAL, "state '%s': the source and the target are the same store", to->path);
	struct store_dump src = { 0 }, back = { 0 };
	int rc = from->ops->dump(from, &src);
	if (rc)
		goto out;
	if (src.nlocks) {
		rc = error_set(CRATIS_ELOCKED, "state '%s': %zu lock%s held: a run may be writing; copy after it ends (or release a dead run's lock with `cratis state unlock`)",
		               from->path, src.nlocks, src.nlocks == 1 ? " is" : "s are");
		goto out;
	}
	for (int k = 0; k < STORE_T__COUNT; k++) {
		report->t[k].source_rows = src.t[k].nrows;
		if ((rc = table_digest(&src, k, report->t[k].source_sha256)))
			goto out;
	}
	if ((rc = to->ops->load(to, &src)))
		goto out;
	if ((rc = to->ops->dump(to, &back)))
		goto out;
	for (int k = 0; k < STORE_T__COUNT; k++) {
		struct store_migrate_table *t = &report->t[k];
		t->target_rows = back.t[k].nrows;
		if ((rc = table_digest(&back, k, t->target_sha256)))
			goto out;
	}
	for (int k = 0; k < STORE_T__COUNT; k++) {
		struct store_migrate_table *t = &report->t[k];
		if (t->source_rows != t->target_rows || strcmp(t->source_sha256, t->target_sha256)) {
			rc = error_set(CRATIS_EIO, "state '%s': the copy of table %s does not match its source (%zu rows, sha256 %.12s... read %zu rows, sha256 %.12s... from the target)",
			               to->path, t->name, t->source_rows, t->source_sha256, t->target_rows, t->target_sha256);
			goto out;
		}
	}
out:
	store_dump_release(&src);
	store_dump_release(&back);
	return rc;
}
