/* SQLite state backend (WAL). One connection per process, serialised by a mutex so the
 * executor's workers can record results concurrently. */
#define _GNU_SOURCE
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cratis/plugin.h"
#include "util/error.h"
#include "util/log.h"
#include "util/util.h"
#include "banned.h"

struct sqlite_store {
	struct store pub;
	sqlite3 *db;
	pthread_mutex_t mu;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS resources ("
	" project TEXT NOT NULL, environment TEXT NOT NULL, id TEXT NOT NULL, api_version TEXT NOT NULL,"
	" spec TEXT, outputs TEXT, deps TEXT, status TEXT NOT NULL, pending_spec TEXT, message TEXT,"
	" updated TEXT NOT NULL, deployment INTEGER,"
	" PRIMARY KEY (environment, project, id));"
	"CREATE TABLE IF NOT EXISTS deployments ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT, environment TEXT NOT NULL, command TEXT,"
	" user TEXT, host TEXT, started TEXT, finished TEXT, result TEXT, summary TEXT, inputs TEXT);"
	"CREATE TABLE IF NOT EXISTS steps ("
	" deployment INTEGER NOT NULL, resource TEXT NOT NULL, action TEXT, result TEXT, message TEXT,"
	" started TEXT, finished TEXT);"
	"CREATE INDEX IF NOT EXISTS steps_by_deployment ON steps (deployment);"
	"CREATE TABLE IF NOT EXISTS locks ("
	" environment TEXT PRIMARY KEY, id TEXT NOT NULL, pid INTEGER, host TEXT, user TEXT,"
	" command TEXT, since TEXT);"
	"CREATE TABLE IF NOT EXISTS artifacts ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, version TEXT NOT NULL,"
	" digest TEXT NOT NULL, snapshot INTEGER NOT NULL, current INTEGER NOT NULL,"
	" recorded TEXT NOT NULL, user TEXT);"
	"CREATE INDEX IF NOT EXISTS artifacts_by_name ON artifacts (name, version, current);"
	"CREATE TABLE IF NOT EXISTS releases ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT, environment TEXT NOT NULL, project TEXT NOT NULL,"
	" rollout TEXT NOT NULL, id TEXT NOT NULL, colour TEXT, port INTEGER, spec TEXT, status TEXT,"
	" stage TEXT, log TEXT, created TEXT, updated TEXT, retire_at INTEGER,"
	" UNIQUE (environment, project, rollout, id));";

#define S(st) ((struct sqlite_store *)(st))

static int db_error(struct sqlite_store *s, const char *what)
{
	return error_set(CRATIS_EIO, "state '%s': %s: %s", s->pub.path, what, sqlite3_errmsg(s->db));
}

static int exec_sql(struct sqlite_store *s, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = error_set(CRATIS_EIO, "state '%s': %s", s->pub.path, msg ? msg : "error");
		sqlite3_free(msg);
		return rc;
	}
	return CRATIS_OK;
}

/* Commit when rc is CRATIS_OK (returning the commit's status), else roll back and return rc. */
static int end_tx(struct sqlite_store *s, int rc)
{
	if (rc) {
		exec_sql(s, "ROLLBACK");
		return rc;
	}
	return exec_sql(s, "COMMIT");
}

static char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? xstrdup((const char *)t) : NULL;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

static void sq_close(struct store *st)
{
	struct sqlite_store *s = S(st);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s->pub.path);
	free(s);
}

/* Run one prepared statement to completion inside the caller's transaction. */
static int run_stmt(struct sqlite_store *s, sqlite3_stmt *st, const char *what)
{
	int r = sqlite3_step(st);
	int rc = (r == SQLITE_DONE || r == SQLITE_ROW) ? CRATIS_OK : db_error(s, what);
	sqlite3_finalize(st);
	return rc;
}

static void fill_lock(struct lock_info *l, sqlite3_stmt *st)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->environment, sizeof(l->environment), "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(l->id, sizeof(l->id), "%s", (const char *)sqlite3_column_text(st, 1));
	l->pid = (long)sqlite3_column_int64(st, 2);
	snprintf(l->host, sizeof(l->host), "%s", sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "");
	snprintf(l->user, sizeof(l->user), "%s", sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "");
	snprintf(l->command, sizeof(l->command), "%s", sqlite3_column_text(st, 5) ? (const char *)sqlite3_column_text(st, 5) : "");
	snprintf(l->since, sizeof(l->since), "%s", sqlite3_column_text(st, 6) ? (const char *)sqlite3_column_text(st, 6) : "");
}

static bool holder_alive(const struct lock_info *h)
{
	if (strcmp(h->host, host_name()))
		return true; /* another host: cannot tell, assume alive */
	return h->pid > 0 && (kill((pid_t)h->pid, 0) == 0 || errno == EPERM);
}

static int sq_lock(struct store *st, struct lock_info *me, int timeout_ms, struct lock_info *holder)
{
	struct sqlite_store *s = S(st);
	unsigned char rnd[8];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(me->id + 2 * i, 3, "%02x", rnd[i]);
	now_rfc3339(me->since);
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		pthread_mutex_lock(&s->mu);
		int rc = exec_sql(s, "BEGIN IMMEDIATE");
		if (rc) {
			pthread_mutex_unlock(&s->mu);
			return rc;
		}
		sqlite3_stmt *q;
		sqlite3_prepare_v2(s->db, "SELECT environment, id, pid, host, user, command, since FROM locks WHERE environment = ?", -1, &q, NULL);
		bind_text(q, 1, me->environment);
		bool held = false;
		if (sqlite3_step(q) == SQLITE_ROW) {
			fill_lock(holder, q);
			held = true;
		}
		sqlite3_finalize(q);
		if (held && !holder_alive(holder)) {
			log_msg(CRATIS_LOG_WARN, "taking over the lock on environment '%s' left by pid %ld (%s, since %s), which is no longer running",
			        holder->environment, holder->pid, holder->command, holder->since);
			held = false;
		}
		if (!held) {
			sqlite3_stmt *ins;
			sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO locks (environment, id, pid, host, user, command, since) VALUES (?,?,?,?,?,?,?)", -1, &ins, NULL);
			bind_text(ins, 1, me->environment);
			bind_text(ins, 2, me->id);
			sqlite3_bind_int64(ins, 3, me->pid);
			bind_text(ins, 4, me->host);
			bind_text(ins, 5, me->user);
			bind_text(ins, 6, me->command);
			bind_text(ins, 7, me->since);
			rc = run_stmt(s, ins, "take lock");
			rc = end_tx(s, rc);
			pthread_mutex_unlock(&s->mu);
			return rc;
		}
		exec_sql(s, "COMMIT");
		pthread_mutex_unlock(&s->mu);
		if (now_ms() >= deadline)
			return error_set(CRATIS_ELOCKED, "environment '%s' is locked by %s@%s pid %ld running '%s' since %s (lock id %s; `cratis state unlock %s` if that run is gone)",
			                 holder->environment, holder->user, holder->host, holder->pid, holder->command,
			                 holder->since, holder->id, holder->id);
		usleep(100000);
	}
}

static int sq_unlock(struct store *st, const char *lock_id)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(s->db, "DELETE FROM locks WHERE id = ?", -1, &q, NULL);
	bind_text(q, 1, lock_id);
	int rc = run_stmt(s, q, "release lock");
	if (!rc && sqlite3_changes(s->db) == 0)
		rc = error_set(CRATIS_ENOTFOUND, "no lock with id '%s'", lock_id);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_locks(struct store *st, struct lock_info **out, size_t *n)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(s->db, "SELECT environment, id, pid, host, user, command, since FROM locks ORDER BY environment", -1, &q, NULL);
	size_t alloc = 0;
	*out = NULL;
	*n = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		ALLOC_GROW(*out, *n + 1, alloc);
		fill_lock(&(*out)[(*n)++], q);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->mu);
	return CRATIS_OK;
}

static int sq_list(struct store *st, const char *environment, struct state_rows *out)
{
	struct sqlite_store *s = S(st);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = CRATIS_OK;
	if (sqlite3_prepare_v2(s->db, "SELECT project, environment, id, api_version, spec, outputs, deps, status, pending_spec, message, updated, deployment"
	                              " FROM resources WHERE environment = ? ORDER BY project, id", -1, &q, NULL) != SQLITE_OK) {
		rc = db_error(s, "list resources");
		goto out_unlock;
	}
	bind_text(q, 1, environment);
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		struct state_row *row = &out->v[out->n++];
		row->project = col(q, 0);
		row->environment = col(q, 1);
		row->id = col(q, 2);
		row->api_version = col(q, 3);
		row->spec = col(q, 4);
		row->outputs = col(q, 5);
		row->deps = col(q, 6);
		row->status = col(q, 7);
		row->pending_spec = col(q, 8);
		row->message = col(q, 9);
		row->updated = col(q, 10);
		row->deployment = sqlite3_column_int64(q, 11);
	}
	if (r != SQLITE_DONE)
		rc = db_error(s, "list resources");
	sqlite3_finalize(q);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_mark_pending(struct store *st, const char *environment, const struct state_row *r)
{
	struct sqlite_store *s = S(st);
	char now[32];
	now_rfc3339(now);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(s->db, "INSERT INTO resources (project, environment, id, api_version, status, pending_spec, deps, updated, deployment)"
	                          " VALUES (?1,?2,?3,?4,'pending',?5,?6,?7,?8)"
	                          " ON CONFLICT (environment, project, id) DO UPDATE SET status='pending', pending_spec=?5, updated=?7, deployment=?8",
	                   -1, &q, NULL);
	bind_text(q, 1, r->project);
	bind_text(q, 2, environment);
	bind_text(q, 3, r->id);
	bind_text(q, 4, r->api_version);
	bind_text(q, 5, r->pending_spec);
	bind_text(q, 6, r->deps);
	bind_text(q, 7, now);
	sqlite3_bind_int64(q, 8, r->deployment);
	int rc = run_stmt(s, q, "mark pending");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int insert_step(struct sqlite_store *s, const struct step *stp, int64_t deployment)
{
	if (!stp)
		return CRATIS_OK;
	sqlite3_stmt *q;
	sqlite3_prepare_v2(s->db, "INSERT INTO steps (deployment, resource, action, result, message, started, finished) VALUES (?,?,?,?,?,?,?)", -1, &q, NULL);
	sqlite3_bind_int64(q, 1, deployment);
	bind_text(q, 2, stp->resource);
	bind_text(q, 3, stp->action);
	bind_text(q, 4, stp->result);
	bind_text(q, 5, stp->message);
	bind_text(q, 6, stp->started);
	bind_text(q, 7, stp->finished);
	return run_stmt(s, q, "record step");
}

static int sq_record(struct store *st, const char *environment, const struct state_row *r,
                     const struct step *stp, int64_t deployment)
{
	struct sqlite_store *s = S(st);
	char now[32];
	now_rfc3339(now);
	bool ok = !strcmp(r->status, "ready");
	pthread_mutex_lock(&s->mu);
	int rc = exec_sql(s, "BEGIN IMMEDIATE");
	if (rc)
		goto out_unlock;
	sqlite3_stmt *q;
	if (ok)
		sqlite3_prepare_v2(s->db, "INSERT INTO resources (project, environment, id, api_version, spec, outputs, deps, status, pending_spec, message, updated, deployment)"
		                          " VALUES (?1,?2,?3,?4,?5,?6,?7,'ready',NULL,NULL,?8,?9)"
		                          " ON CONFLICT (environment, project, id) DO UPDATE SET api_version=?4, spec=?5, outputs=?6, deps=?7,"
		                          " status='ready', pending_spec=NULL, message=NULL, updated=?8, deployment=?9", -1, &q, NULL);
	else
		sqlite3_prepare_v2(s->db, "INSERT INTO resources (project, environment, id, api_version, deps, status, pending_spec, message, updated, deployment)"
		                          " VALUES (?1,?2,?3,?4,?7,'failed',?5,?10,?8,?9)"
		                          " ON CONFLICT (environment, project, id) DO UPDATE SET status='failed', pending_spec=?5, message=?10,"
		                          " updated=?8, deployment=?9", -1, &q, NULL);
	bind_text(q, 1, r->project);
	bind_text(q, 2, environment);
	bind_text(q, 3, r->id);
	bind_text(q, 4, r->api_version);
	bind_text(q, 5, ok ? r->spec : r->pending_spec);
	bind_text(q, 6, r->outputs);
	bind_text(q, 7, r->deps);
	bind_text(q, 8, now);
	sqlite3_bind_int64(q, 9, deployment);
	if (!ok)
		bind_text(q, 10, r->message);
	rc = run_stmt(s, q, "record resource");
	if (!rc)
		rc = insert_step(s, stp, deployment);
	rc = end_tx(s, rc);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_remove(struct store *st, const char *environment, const char *project, const char *id,
                     const struct step *stp, int64_t deployment)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	int rc = exec_sql(s, "BEGIN IMMEDIATE");
	if (rc)
		goto out_unlock;
	sqlite3_stmt *q;
	sqlite3_prepare_v2(s->db, "DELETE FROM resources WHERE environment=? AND project=? AND id=?", -1, &q, NULL);
	bind_text(q, 1, environment);
	bind_text(q, 2, project);
	bind_text(q, 3, id);
	rc = run_stmt(s, q, "forget resource");
	if (!rc)
		rc = insert_step(s, stp, deployment);
	rc = end_tx(s, rc);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_deployment_begin(struct store *st, struct deployment *d)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(s->db, "INSERT INTO deployments (project, environment, command, user, host, started, result, inputs) VALUES (?,?,?,?,?,?,'running',?)", -1, &q, NULL);
	bind_text(q, 1, d->project);
	bind_text(q, 2, d->environment);
	bind_text(q, 3, d->command);
	bind_text(q, 4, d->user);
	bind_text(q, 5, d->host);
	bind_text(q, 6, d->started);
	bind_text(q, 7, d->inputs);
	int rc = run_stmt(s, q, "start deployment");
	d->id = sqlite3_last_insert_rowid(s->db);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_deployment_finish(struct store *st, const struct deployment *d)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(s->db, "UPDATE deployments SET finished=?, result=?, summary=? WHERE id=?", -1, &q, NULL);
	bind_text(q, 1, d->finished);
	bind_text(q, 2, d->result);
	bind_text(q, 3, d->summary);
	sqlite3_bind_int64(q, 4, d->id);
	int rc = run_stmt(s, q, "finish deployment");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_history(struct store *st, const char *environment, int limit, struct deployments *out)
{
	struct sqlite_store *s = S(st);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(s->db, "SELECT id, project, environment, command, user, host, started, finished, result, summary, inputs FROM deployments"
	                          " WHERE ?1 IS NULL OR environment = ?1 ORDER BY id DESC LIMIT ?2", -1, &q, NULL);
	bind_text(q, 1, environment);
	sqlite3_bind_int(q, 2, limit > 0 ? limit : -1);
	while (sqlite3_step(q) == SQLITE_ROW) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		struct deployment *d = &out->v[out->n++];
		d->id = sqlite3_column_int64(q, 0);
		d->project = col(q, 1);
		d->environment = col(q, 2);
		d->command = col(q, 3);
		d->user = col(q, 4);
		d->host = col(q, 5);
		d->started = col(q, 6);
		d->finished = col(q, 7);
		d->result = col(q, 8);
		d->summary = col(q, 9);
		d->inputs = col(q, 10);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->mu);
	return CRATIS_OK;
}

static int sq_steps(struct store *st, int64_t deployment, struct steps *out)
{
	struct sqlite_store *s = S(st);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(s->db, "SELECT resource, action, result, message, started, finished FROM steps WHERE deployment=? ORDER BY rowid", -1, &q, NULL);
	sqlite3_bind_int64(q, 1, deployment);
	while (sqlite3_step(q) == SQLITE_ROW) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		struct step *x = &out->v[out->n++];
		x->resource = col(q, 0);
		x->action = col(q, 1);
		x->result = col(q, 2);
		x->message = col(q, 3);
		x->started = col(q, 4);
		x->finished = col(q, 5);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->mu);
	return CRATIS_OK;
}

static void fill_artifact(struct artifact *a, sqlite3_stmt *q)
{
	a->name = col(q, 0);
	a->version = col(q, 1);
	a->digest = col(q, 2);
	a->snapshot = sqlite3_column_int(q, 3) != 0;
	a->current = sqlite3_column_int(q, 4) != 0;
	a->recorded = col(q, 5);
	a->user = col(q, 6);
}

static int sq_artifact_record(struct store *st, const struct artifact *a, enum artifact_outcome *outcome,
                              struct artifact *existing)
{
	struct sqlite_store *s = S(st);
	char now[32];
	now_rfc3339(now);
	memset(existing, 0, sizeof(*existing));
	pthread_mutex_lock(&s->mu);
	int rc = exec_sql(s, "BEGIN IMMEDIATE");
	if (rc)
		goto out_unlock;
	sqlite3_stmt *q;
	sqlite3_prepare_v2(s->db, "SELECT name, version, digest, snapshot, current, recorded, user FROM artifacts"
	                          " WHERE name = ? AND version = ? AND current = 1", -1, &q, NULL);
	bind_text(q, 1, a->name);
	bind_text(q, 2, a->version);
	bool found = sqlite3_step(q) == SQLITE_ROW;
	if (found)
		fill_artifact(existing, q);
	sqlite3_finalize(q);
	if (found && !strcmp(existing->digest, a->digest)) {
		*outcome = ARTIFACT_SAME;
		exec_sql(s, "ROLLBACK");
		goto out_unlock;
	}
	if (found && !a->snapshot) {
		rc = error_set(CRATIS_EEXISTS, "artifact '%s' %s is immutable: digest %s was recorded at %s; refusing %s (release a new version instead)",
		               a->name, a->version, existing->digest, existing->recorded, a->digest);
		exec_sql(s, "ROLLBACK");
		goto out_unlock;
	}
	if (found) {
		sqlite3_prepare_v2(s->db, "UPDATE artifacts SET current = 0 WHERE name = ? AND version = ?", -1, &q, NULL);
		bind_text(q, 1, a->name);
		bind_text(q, 2, a->version);
		rc = run_stmt(s, q, "supersede artifact");
	}
	if (!rc) {
		sqlite3_prepare_v2(s->db, "INSERT INTO artifacts (name, version, digest, snapshot, current, recorded, user) VALUES (?,?,?,?,1,?,?)", -1, &q, NULL);
		bind_text(q, 1, a->name);
		bind_text(q, 2, a->version);
		bind_text(q, 3, a->digest);
		sqlite3_bind_int(q, 4, a->snapshot);
		bind_text(q, 5, now);
		bind_text(q, 6, a->user);
		rc = run_stmt(s, q, "record artifact");
	}
	rc = end_tx(s, rc);
	*outcome = found ? ARTIFACT_REPLACED : ARTIFACT_NEW;
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_artifacts(struct store *st, const char *name, bool history, struct artifacts *out)
{
	struct sqlite_store *s = S(st);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(s->db, "SELECT name, version, digest, snapshot, current, recorded, user FROM artifacts"
	                          " WHERE (?1 IS NULL OR name = ?1) AND (?2 OR current = 1) ORDER BY id DESC", -1, &q, NULL);
	bind_text(q, 1, name);
	sqlite3_bind_int(q, 2, history);
	while (sqlite3_step(q) == SQLITE_ROW) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		fill_artifact(&out->v[out->n++], q);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->mu);
	return CRATIS_OK;
}

static int sq_release_put(struct store *st, const struct release *r)
{
	struct sqlite_store *s = S(st);
	char now[32];
	now_rfc3339(now);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(s->db, "INSERT INTO releases (environment, project, rollout, id, colour, port, spec, status, stage, log, created, updated, retire_at)"
	                          " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?11,?12)"
	                          " ON CONFLICT (environment, project, rollout, id) DO UPDATE SET colour=?5, port=?6, spec=?7, status=?8,"
	                          " stage=?9, log=?10, updated=?11, retire_at=?12", -1, &q, NULL);
	bind_text(q, 1, r->environment);
	bind_text(q, 2, r->project);
	bind_text(q, 3, r->rollout);
	bind_text(q, 4, r->id);
	bind_text(q, 5, r->colour);
	sqlite3_bind_int(q, 6, r->port);
	bind_text(q, 7, r->spec);
	bind_text(q, 8, r->status);
	bind_text(q, 9, r->stage);
	bind_text(q, 10, r->log);
	bind_text(q, 11, now);
	sqlite3_bind_int64(q, 12, r->retire_at);
	int rc = run_stmt(s, q, "record release");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_releases(struct store *st, const char *environment, const char *project, const char *rollout,
                       struct releases *out)
{
	struct sqlite_store *s = S(st);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(s->db, "SELECT environment, project, rollout, id, colour, port, spec, status, stage, log, created, updated, retire_at"
	                          " FROM releases WHERE environment=? AND project=? AND rollout=? ORDER BY seq DESC", -1, &q, NULL);
	bind_text(q, 1, environment);
	bind_text(q, 2, project);
	bind_text(q, 3, rollout);
	while (sqlite3_step(q) == SQLITE_ROW) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		struct release *r = &out->v[out->n++];
		r->environment = col(q, 0);
		r->project = col(q, 1);
		r->rollout = col(q, 2);
		r->id = col(q, 3);
		r->colour = col(q, 4);
		r->port = sqlite3_column_int(q, 5);
		r->spec = col(q, 6);
		r->status = col(q, 7);
		r->stage = col(q, 8);
		r->log = col(q, 9);
		r->created = col(q, 10);
		r->updated = col(q, 11);
		r->retire_at = sqlite3_column_int64(q, 12);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&s->mu);
	return CRATIS_OK;
}

static const struct store_ops sqlite_ops = {
	.close = sq_close,
	.lock = sq_lock,
	.unlock = sq_unlock,
	.locks = sq_locks,
	.list = sq_list,
	.mark_pending = sq_mark_pending,
	.record = sq_record,
	.remove = sq_remove,
	.deployment_begin = sq_deployment_begin,
	.deployment_finish = sq_deployment_finish,
	.history = sq_history,
	.steps = sq_steps,
	.artifact_record = sq_artifact_record,
	.artifacts = sq_artifacts,
	.release_put = sq_release_put,
	.releases = sq_releases,
};

int store_open_sqlite(struct store **out, const char *path)
{
	struct sqlite_store *s = xcalloc(1, sizeof(*s));
	s->pub.ops = &sqlite_ops;
	s->pub.path = xstrdup(path);
	pthread_mutex_init(&s->mu, NULL);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		int rc = error_set(CRATIS_EIO, "cannot open state '%s': %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		sq_close(&s->pub);
		return rc;
	}
	sqlite3_busy_timeout(s->db, 10000);
	int rc = exec_sql(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
	if (!rc)
		rc = exec_sql(s, schema);
	if (!rc) /* state written before deployments had inputs: add the column (an error says it exists) */
		sqlite3_exec(s->db, "ALTER TABLE deployments ADD COLUMN inputs TEXT", NULL, NULL, NULL);
	if (rc) {
		sq_close(&s->pub);
		return rc;
	}
	*out = &s->pub;
	return CRATIS_OK;
}
