/* SQLite state backend ("sqlite:PATH", WAL). One connection per handle, serialised by a mutex so
 * the executor's workers can record results concurrently; several handles (processes) on one
 * file are serialised by SQLite's locks (BEGIN IMMEDIATE, 10 s busy timeout). Schema changes are
 * numbered migrations: PRAGMA user_version holds the newest applied, schema_migrations records
 * each with the time it was applied. */
#define _GNU_SOURCE
#include "store.h"
#include "sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cratis/plugin.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"


/* Migration 1: the schema of cratis 0.1, which carried no version (an existing database with
 * these tables is taken as version 1 once the legacy fix-ups below are applied). */
static const char schema_v1[] =
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

/* Migration 2: locks become leases (owner, acquired/heartbeat/expiry in ms since the epoch, lease
 * duration, the deployment the holder runs). Locks written before it have expires 0: expired. */
static const char schema_v2[] =
	"ALTER TABLE locks ADD COLUMN owner TEXT;"
	"ALTER TABLE locks ADD COLUMN acquired INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE locks ADD COLUMN heartbeat INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE locks ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE locks ADD COLUMN lease_ms INTEGER NOT NULL DEFAULT 30000;"
	"ALTER TABLE locks ADD COLUMN deployment INTEGER;"
	"CREATE UNIQUE INDEX IF NOT EXISTS locks_by_id ON locks (id);";

/* Migration 3: the event outbox (docs/events.md, docs/state.md): events in seq order, one
 * delivery row per (sink, event) once a sink has tried it, and per-sink state. */
static const char schema_v3[] =
	"CREATE TABLE IF NOT EXISTS events ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, type TEXT NOT NULL,"
	" subject TEXT, time TEXT NOT NULL, data TEXT, deployment INTEGER);"
	"CREATE TABLE IF NOT EXISTS deliveries ("
	" sink TEXT NOT NULL, seq INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
	" first_attempt INTEGER, next_attempt INTEGER, last_error TEXT, delivered TEXT,"
	" PRIMARY KEY (sink, seq));"
	"CREATE TABLE IF NOT EXISTS sinks ("
	" name TEXT PRIMARY KEY, disabled INTEGER NOT NULL DEFAULT 0, reason TEXT, last_error TEXT, last_delivered TEXT);";

/* Migration 4: records, JSON documents keyed by (kind, scope, name) with a revision
 * (store_record_put, sqlite_records.c). */
static const char schema_v4[] =
	"CREATE TABLE IF NOT EXISTS records ("
	" kind TEXT NOT NULL, scope TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,"
	" revision INTEGER NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL,"
	" PRIMARY KEY (kind, scope, name));";

static const struct migration {
	int version;
	const char *name;
	const char *sql;
} migrations[] = {
	{ 1, "baseline: resources, deployments, steps, locks, artifacts, releases", schema_v1 },
	{ 2, "locks as leases", schema_v2 },
	{ 3, "outbox: events, deliveries, sinks", schema_v3 },
	{ 4, "records", schema_v4 },
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_LATEST, "one migration per schema version");


int sq_db_error(struct sqlite_store *s, const char *what)
{
	return error_set(CRATIS_EIO, "state '%s': %s: %s", s->pub.path, what, sqlite3_errmsg(s->db));
}

int sq_exec(struct sqlite_store *s, const char *sql, const char *what)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = error_set(CRATIS_EIO, "state '%s': %s: %s", s->pub.path, what, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return rc;
	}
	return CRATIS_OK;
}

int sq_begin(struct sqlite_store *s)
{
	return sq_exec(s, "BEGIN IMMEDIATE", "begin transaction");
}

/* Commit when rc is CRATIS_OK (returning the commit's status), else roll back and return rc
 * (the rollback's own failure cannot add anything: rc already says what went wrong). */
int sq_end_tx(struct sqlite_store *s, int rc)
{
	if (rc) {
		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	return sq_exec(s, "COMMIT", "commit");
}

int sq_prep(struct sqlite_store *s, sqlite3_stmt **q, const char *sql, const char *what)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, q, NULL) != SQLITE_OK) {
		sqlite3_finalize(*q);
		*q = NULL;
		return sq_db_error(s, what);
	}
	return CRATIS_OK;
}

char *sq_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? xstrdup((const char *)t) : NULL;
}

/* A NOT NULL column: "" rather than NULL if a damaged row lacks it. */
char *sq_colr(sqlite3_stmt *st, int i)
{
	char *t = sq_col(st, i);
	return t ? t : xstrdup("");
}

static void col_into(char *dst, size_t n, sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

int sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

int sq_bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(st, i, v);
}

void sq_now_text(struct sqlite_store *s, char out[32])
{
	store_format_time(store_now(&s->pub), out);
}

static void sq_close(struct store *st)
{
	struct sqlite_store *s = S(st);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	store_base_release(&s->pub);
	free(s);
}

/* Run a prepared statement to completion and finalize it; binds failed when bound != 0. */
int sq_run_stmt(struct sqlite_store *s, sqlite3_stmt *st, int bound, const char *what)
{
	int rc = CRATIS_OK;
	if (bound != SQLITE_OK) {
		rc = sq_db_error(s, what);
	} else {
		int r = sqlite3_step(st);
		if (r != SQLITE_DONE && r != SQLITE_ROW)
			rc = sq_db_error(s, what);
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- schema ---- */

static int read_int(struct sqlite_store *s, const char *sql, int *out, const char *what)
{
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, sql, what);
	if (rc)
		return rc;
	int r = sqlite3_step(q);
	if (r == SQLITE_ROW)
		*out = sqlite3_column_int(q, 0);
	else
		rc = sq_db_error(s, what);
	sqlite3_finalize(q);
	return rc;
}

static int sq_schema_version(struct store *st, int *out)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	int rc = read_int(s, "PRAGMA user_version", out, "read schema version");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int has_column(struct sqlite_store *s, const char *table, const char *column, bool *out)
{
	sqlite3_stmt *q;
	*out = false;
	int rc = sq_prep(s, &q, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", "read schema");
	if (rc)
		return rc;
	if (sq_bind_text(q, 1, table) || sq_bind_text(q, 2, column)) {
		rc = sq_db_error(s, "read schema");
	} else if (sqlite3_step(q) == SQLITE_ROW) {
		*out = sqlite3_column_int(q, 0) > 0;
	} else {
		rc = sq_db_error(s, "read schema");
	}
	sqlite3_finalize(q);
	return rc;
}

/* Bring the schema to STORE_SCHEMA_LATEST in one transaction (caller holds no transaction). */
static int migrate(struct sqlite_store *s)
{
	int version, rc = read_int(s, "PRAGMA user_version", &version, "read schema version");
	if (rc)
		return rc;
	if (version > STORE_SCHEMA_LATEST)
		return error_set(CRATIS_EINVAL, "state '%s' has schema version %d, newer than this cratis knows (%d): it was written by a newer cratis; upgrade cratis to use it",
		                 s->pub.path, version, STORE_SCHEMA_LATEST);
	if (version == STORE_SCHEMA_LATEST) {
		int n;
		if ((rc = read_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", &n, "read schema")))
			return rc;
		if (!n)
			return error_set(CRATIS_EIO, "state '%s' is a SQLite database without cratis' tables (schema version %d but no schema_migrations table)",
			                 s->pub.path, version);
		return CRATIS_OK;
	}
	if ((rc = sq_begin(s)))
		return rc;
	/* again inside the transaction: another process may have migrated meanwhile */
	if ((rc = read_int(s, "PRAGMA user_version", &version, "read schema version")))
		goto out_end;
	if (version == 0) {
		int tables, ours;
		if ((rc = read_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", &tables, "read schema")) ||
		    (rc = read_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('resources', 'deployments', 'steps', 'locks')", &ours, "read schema")))
			goto out_end;
		if (tables && ours < 4) {
			rc = error_set(CRATIS_EIO, "state '%s' is a SQLite database without cratis' tables (%d other table%s): refusing to use it as state",
			               s->pub.path, tables, tables == 1 ? "" : "s");
			goto out_end;
		}
		if (tables) {
			/* the unversioned schema of cratis 0.1: fix up what older copies of it lacked, then it is version 1 */
			bool inputs;
			if ((rc = has_column(s, "deployments", "inputs", &inputs)))
				goto out_end;
			if (!inputs && (rc = sq_exec(s, "ALTER TABLE deployments ADD COLUMN inputs TEXT", "migrate unversioned schema")))
				goto out_end;
			if ((rc = sq_exec(s, schema_v1, "migrate unversioned schema")))
				goto out_end;
		}
	}
	if ((rc = sq_exec(s, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)",
	                   "create schema_migrations")))
		goto out_end;
	char now[32];
	sq_now_text(s, now);
	for (int i = 0; i < NMIGRATIONS && !rc; i++) {
		const struct migration *m = &migrations[i];
		bool baseline = version == 0 && m->version == 1;
		if (m->version <= version && !baseline)
			continue;
		if (m->version > version) {
			char *what = xasprintf("migration %d (%s)", m->version, m->name);
			rc = sq_exec(s, m->sql, what);
			free(what);
			if (rc)
				break;
		}
		sqlite3_stmt *q;
		if ((rc = sq_prep(s, &q, "INSERT OR REPLACE INTO schema_migrations (version, name, applied) VALUES (?,?,?)", "record migration")))
			break;
		rc = sq_run_stmt(s, q, sqlite3_bind_int(q, 1, m->version) | sq_bind_text(q, 2, m->name) | sq_bind_text(q, 3, now), "record migration");
	}
	if (!rc) {
		char *sql = xasprintf("PRAGMA user_version = %d", STORE_SCHEMA_LATEST);
		rc = sq_exec(s, sql, "record schema version");
		free(sql);
	}
out_end:
	return sq_end_tx(s, rc);
}

/* ---- locks ---- */

#define LOCK_COLS "environment, id, pid, host, user, command, since, owner, acquired, heartbeat, expires, lease_ms, deployment"

static void fill_lock(struct lock_info *l, sqlite3_stmt *st)
{
	memset(l, 0, sizeof(*l));
	col_into(l->environment, sizeof(l->environment), st, 0);
	col_into(l->id, sizeof(l->id), st, 1);
	l->pid = (long)sqlite3_column_int64(st, 2);
	col_into(l->host, sizeof(l->host), st, 3);
	col_into(l->user, sizeof(l->user), st, 4);
	col_into(l->command, sizeof(l->command), st, 5);
	col_into(l->since, sizeof(l->since), st, 6);
	col_into(l->owner, sizeof(l->owner), st, 7);
	l->acquired = sqlite3_column_int64(st, 8);
	l->heartbeat = sqlite3_column_int64(st, 9);
	l->expires = sqlite3_column_int64(st, 10);
	l->lease_ms = sqlite3_column_int(st, 11);
	l->deployment = sqlite3_column_int64(st, 12);
}

/* The lock matching key (by environment or by id) into *l; *found says whether there is one. */
static int find_lock(struct sqlite_store *s, bool by_id, const char *key, struct lock_info *l, bool *found)
{
	sqlite3_stmt *q;
	*found = false;
	int rc = sq_prep(s, &q, by_id ? "SELECT " LOCK_COLS " FROM locks WHERE id = ?" : "SELECT " LOCK_COLS " FROM locks WHERE environment = ?",
	              "read lock");
	if (rc)
		return rc;
	if (sq_bind_text(q, 1, key)) {
		rc = sq_db_error(s, "read lock");
	} else {
		int r = sqlite3_step(q);
		if (r == SQLITE_ROW) {
			fill_lock(l, q);
			*found = true;
		} else if (r != SQLITE_DONE) {
			rc = sq_db_error(s, "read lock");
		}
	}
	sqlite3_finalize(q);
	return rc;
}

/* Close deployment id as interrupted, if it is still running (inside the caller's transaction). */
static int close_interrupted(struct sqlite_store *s, int64_t id, const struct lock_info *h, const char *why)
{
	if (!id)
		return CRATIS_OK;
	char now[32];
	sq_now_text(s, now);
	char *summary = xasprintf("interrupted: the run (%s@%s pid %ld) is gone or stopped renewing its lease; %s", h->user, h->host, h->pid, why);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "UPDATE deployments SET result = 'interrupted', finished = ?1,"
	                     " summary = CASE WHEN summary IS NULL OR summary = '' THEN ?2 ELSE summary END"
	                     " WHERE id = ?3 AND (result IS NULL OR result = 'running')", "close interrupted deployment");
	if (!rc)
		rc = sq_run_stmt(s, q, sq_bind_text(q, 1, now) | sq_bind_text(q, 2, summary) | sq_bind_i64(q, 3, id), "close interrupted deployment");
	free(summary);
	return rc;
}

static int insert_events(struct sqlite_store *s, const struct store_event *ev, size_t n, int64_t deployment);

/* Append em's outbox rows for info (inside the caller's transaction). */
int sq_insert_emits(struct sqlite_store *s, const struct store_emits *em, const struct store_emit_info *info)
{
	if (!em || !em->n)
		return CRATIS_OK;
	struct store_event *v;
	store_emits_resolve(em, info, &v);
	int rc = insert_events(s, v, em->n, info->deployment);
	store_emits_free(v, em->n);
	return rc;
}

static int sq_try_lock(struct store *st, struct lock_info *me, struct lock_info *holder, bool *took_over,
                       const struct store_emits *em)
{
	struct sqlite_store *s = S(st);
	*took_over = false;
	pthread_mutex_lock(&s->mu);
	int rc = sq_begin(s);
	if (rc)
		goto out_unlock;
	bool held;
	if ((rc = find_lock(s, false, me->environment, holder, &held)))
		goto out_end;
	if (held) {
		if (!store_lock_takeable(holder, me->acquired)) {
			rc = CRATIS_ELOCKED;
			goto out_end;
		}
		*took_over = true;
		if ((rc = close_interrupted(s, holder->deployment, holder, "its lock was taken over by the next run")))
			goto out_end;
	}
	sqlite3_stmt *q;
	if ((rc = sq_prep(s, &q, "INSERT OR REPLACE INTO locks (" LOCK_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,NULL)", "take lock")))
		goto out_end;
	rc = sq_run_stmt(s, q,
	              sq_bind_text(q, 1, me->environment) | sq_bind_text(q, 2, me->id) | sq_bind_i64(q, 3, me->pid) |
	              sq_bind_text(q, 4, me->host) | sq_bind_text(q, 5, me->user) | sq_bind_text(q, 6, me->command) |
	              sq_bind_text(q, 7, me->since) | sq_bind_text(q, 8, me->owner) | sq_bind_i64(q, 9, me->acquired) |
	              sq_bind_i64(q, 10, me->heartbeat) | sq_bind_i64(q, 11, me->expires) | sqlite3_bind_int(q, 12, me->lease_ms),
	              "take lock");
	if (!rc)
		rc = sq_insert_emits(s, em, &(struct store_emit_info){ .lock = me, .previous = *took_over ? holder : NULL });
out_end:
	if (rc == CRATIS_ELOCKED) {
		sq_end_tx(s, rc);
	} else {
		rc = sq_end_tx(s, rc);
	}
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int changed_one(struct sqlite_store *s, const char *lock_id)
{
	if (sqlite3_changes(s->db) == 0)
		return error_set(CRATIS_ENOTFOUND, "state '%s': lock '%s' is no longer held (released, or taken over by another run after its lease expired)",
		                 s->pub.path, lock_id);
	return CRATIS_OK;
}

static int sq_renew(struct store *st, const char *lock_id)
{
	struct sqlite_store *s = S(st);
	int64_t now = store_now(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "UPDATE locks SET heartbeat = ?1, expires = ?1 + lease_ms WHERE id = ?2", "renew lock");
	if (!rc)
		rc = sq_run_stmt(s, q, sq_bind_i64(q, 1, now) | sq_bind_text(q, 2, lock_id), "renew lock");
	if (!rc)
		rc = changed_one(s, lock_id);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_lock_set_deployment(struct store *st, const char *lock_id, int64_t deployment)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "UPDATE locks SET deployment = ? WHERE id = ?", "record the lock's deployment");
	if (!rc)
		rc = sq_run_stmt(s, q, sq_bind_i64(q, 1, deployment) | sq_bind_text(q, 2, lock_id), "record the lock's deployment");
	if (!rc)
		rc = changed_one(s, lock_id);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_unlock(struct store *st, const char *lock_id, bool force, bool close_dead, struct lock_info *holder)
{
	struct sqlite_store *s = S(st);
	struct lock_info tmp;
	if (!holder)
		holder = &tmp;
	memset(holder, 0, sizeof(*holder));
	int64_t now = store_now(st);
	pthread_mutex_lock(&s->mu);
	int rc = sq_begin(s);
	if (rc)
		goto out_unlock;
	bool found;
	if ((rc = find_lock(s, true, lock_id, holder, &found)))
		goto out_end;
	if (!found) {
		rc = error_set(CRATIS_ENOTFOUND, "no lock with id '%s'", lock_id);
		goto out_end;
	}
	bool alive = store_lock_alive(holder, now);
	if (alive && !force) {
		rc = store_refuse_live_holder(holder);
		goto out_end;
	}
	/* a forced release interrupts a live run too: its keeper finds the lock gone and stops it,
	 * and a deployment closed here is not reopened by its finish */
	if (close_dead && (rc = close_interrupted(s, holder->deployment, holder,
	                                         alive ? "its lock was released by `state unlock --force`"
	                                               : "its lock was released by `state unlock`")))
		goto out_end;
	sqlite3_stmt *q;
	if ((rc = sq_prep(s, &q, "DELETE FROM locks WHERE id = ?", "release lock")))
		goto out_end;
	rc = sq_run_stmt(s, q, sq_bind_text(q, 1, lock_id), "release lock");
out_end:
	rc = sq_end_tx(s, rc);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_locks(struct store *st, struct lock_info **out, size_t *n)
{
	struct sqlite_store *s = S(st);
	size_t alloc = 0;
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "SELECT " LOCK_COLS " FROM locks ORDER BY environment", "list locks");
	if (rc)
		goto out_unlock;
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		ALLOC_GROW(*out, *n + 1, alloc);
		fill_lock(&(*out)[(*n)++], q);
	}
	if (r != SQLITE_DONE) {
		rc = sq_db_error(s, "list locks");
		free(*out);
		*out = NULL;
		*n = 0;
	}
	sqlite3_finalize(q);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- resources, units of work ---- */

static int sq_list(struct store *st, const char *environment, const char *project, struct state_rows *out)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "SELECT project, environment, id, api_version, spec, outputs, deps, status, pending_spec, message, updated, deployment"
	                     " FROM resources WHERE environment = ?1 AND (?2 IS NULL OR project = ?2) ORDER BY project, id", "list resources");
	if (rc)
		goto out_unlock;
	if (sq_bind_text(q, 1, environment) | sq_bind_text(q, 2, project)) {
		rc = sq_db_error(s, "list resources");
		goto out_finalize;
	}
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		struct state_row *row = &out->v[out->n++];
		memset(row, 0, sizeof(*row));
		row->project = sq_colr(q, 0);
		row->environment = sq_colr(q, 1);
		row->id = sq_colr(q, 2);
		row->api_version = sq_colr(q, 3);
		row->spec = sq_col(q, 4);
		row->outputs = sq_col(q, 5);
		row->deps = sq_col(q, 6);
		row->status = sq_colr(q, 7);
		row->pending_spec = sq_col(q, 8);
		row->message = sq_col(q, 9);
		row->updated = sq_colr(q, 10);
		row->deployment = sqlite3_column_int64(q, 11);
	}
	if (r != SQLITE_DONE)
		rc = sq_db_error(s, "list resources");
out_finalize:
	sqlite3_finalize(q);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int insert_step(struct sqlite_store *s, const struct step *stp, int64_t deployment)
{
	if (!stp)
		return CRATIS_OK;
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "INSERT INTO steps (deployment, resource, action, result, message, started, finished) VALUES (?,?,?,?,?,?,?)", "record step");
	if (rc)
		return rc;
	return sq_run_stmt(s, q,
	                sq_bind_i64(q, 1, deployment) | sq_bind_text(q, 2, stp->resource) | sq_bind_text(q, 3, stp->action) |
	                sq_bind_text(q, 4, stp->result) | sq_bind_text(q, 5, stp->message) | sq_bind_text(q, 6, stp->started) |
	                sq_bind_text(q, 7, stp->finished),
	                "record step");
}

static int change_resource(struct sqlite_store *s, const struct store_unit *u)
{
	const struct state_row *r = u->row;
	char now[32];
	sq_now_text(s, now);
	sqlite3_stmt *q;
	int rc;
	switch (u->change) {
	case STORE_CHANGE_NONE:
		return CRATIS_OK;
	case STORE_CHANGE_PENDING:
		if ((rc = sq_prep(s, &q, "INSERT INTO resources (project, environment, id, api_version, status, pending_spec, deps, updated, deployment)"
		                      " VALUES (?1,?2,?3,?4,'pending',?5,?6,?7,?8)"
		                      " ON CONFLICT (environment, project, id) DO UPDATE SET status='pending', pending_spec=?5, updated=?7, deployment=?8",
		               "mark pending")))
			return rc;
		return sq_run_stmt(s, q,
		                sq_bind_text(q, 1, r->project) | sq_bind_text(q, 2, u->environment) | sq_bind_text(q, 3, r->id) |
		                sq_bind_text(q, 4, r->api_version) | sq_bind_text(q, 5, r->pending_spec) | sq_bind_text(q, 6, r->deps) |
		                sq_bind_text(q, 7, now) | sq_bind_i64(q, 8, u->deployment),
		                "mark pending");
	case STORE_CHANGE_RECORD: {
		bool ok = !strcmp(r->status, "ready");
		if (ok)
			rc = sq_prep(s, &q, "INSERT INTO resources (project, environment, id, api_version, spec, outputs, deps, status, pending_spec, message, updated, deployment)"
			                 " VALUES (?1,?2,?3,?4,?5,?6,?7,'ready',NULL,NULL,?8,?9)"
			                 " ON CONFLICT (environment, project, id) DO UPDATE SET api_version=?4, spec=?5, outputs=?6, deps=?7,"
			                 " status='ready', pending_spec=NULL, message=NULL, updated=?8, deployment=?9", "record resource");
		else
			rc = sq_prep(s, &q, "INSERT INTO resources (project, environment, id, api_version, deps, status, pending_spec, message, updated, deployment)"
			                 " VALUES (?1,?2,?3,?4,?7,'failed',?5,?10,?8,?9)"
			                 " ON CONFLICT (environment, project, id) DO UPDATE SET status='failed', pending_spec=?5, message=?10,"
			                 " updated=?8, deployment=?9", "record resource");
		if (rc)
			return rc;
		int b = sq_bind_text(q, 1, r->project) | sq_bind_text(q, 2, u->environment) | sq_bind_text(q, 3, r->id) |
		        sq_bind_text(q, 4, r->api_version) | sq_bind_text(q, 5, ok ? r->spec : r->pending_spec) |
		        sq_bind_text(q, 7, r->deps) | sq_bind_text(q, 8, now) | sq_bind_i64(q, 9, u->deployment);
		if (ok)
			b |= sq_bind_text(q, 6, r->outputs);
		else
			b |= sq_bind_text(q, 10, r->message);
		return sq_run_stmt(s, q, b, "record resource");
	}
	case STORE_CHANGE_REMOVE:
		if ((rc = sq_prep(s, &q, "DELETE FROM resources WHERE environment=? AND project=? AND id=?", "forget resource")))
			return rc;
		return sq_run_stmt(s, q, sq_bind_text(q, 1, u->environment) | sq_bind_text(q, 2, r->project) | sq_bind_text(q, 3, r->id),
		                "forget resource");
	case STORE_CHANGE_RENAME: {
		/* the new id must be free: checked here, in the transaction, so no run can record it between */
		if ((rc = sq_prep(s, &q, "SELECT 1 FROM resources WHERE environment=? AND project=? AND id=?", "rename resource")))
			return rc;
		int b = sq_bind_text(q, 1, u->environment) | sq_bind_text(q, 2, r->project) | sq_bind_text(q, 3, r->id);
		int step = b == SQLITE_OK ? sqlite3_step(q) : SQLITE_ERROR;
		sqlite3_finalize(q);
		if (step == SQLITE_ROW)
			return error_set(CRATIS_EEXISTS, "state '%s': %s/%s is already recorded in environment '%s'", s->pub.path,
			                 r->project, r->id, u->environment);
		if (step != SQLITE_DONE)
			return sq_db_error(s, "rename resource");
		if ((rc = sq_prep(s, &q, "UPDATE resources SET id=?1, updated=?2, deployment=?3 WHERE environment=?4 AND project=?5 AND id=?6",
		               "rename resource")))
			return rc;
		if ((rc = sq_run_stmt(s, q,
		                   sq_bind_text(q, 1, r->id) | sq_bind_text(q, 2, now) | sq_bind_i64(q, 3, u->deployment) |
		                   sq_bind_text(q, 4, u->environment) | sq_bind_text(q, 5, r->project) | sq_bind_text(q, 6, u->old_id),
		                   "rename resource")))
			return rc;
		if (sqlite3_changes(s->db) != 1)
			return error_set(CRATIS_ENOTFOUND, "state '%s': %s/%s is not recorded in environment '%s'", s->pub.path,
			                 r->project, u->old_id, u->environment);
		return CRATIS_OK;
	}
	}
	return error_set(CRATIS_EINVAL, "state '%s': unknown change %d in a unit of work", s->pub.path, (int)u->change);
}

/* Append the outbox rows of a unit (inside the caller's transaction). */
static int insert_events(struct sqlite_store *s, const struct store_event *ev, size_t n, int64_t deployment)
{
	if (!n)
		return CRATIS_OK;
	char now[32];
	cloud_event_format_time(store_now(&s->pub), now);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "INSERT INTO events (id, source, type, subject, time, data, deployment) VALUES (?,?,?,?,?,?,?)", "record event");
	for (size_t i = 0; i < n && !rc; i++) {
		char id[37];
		if (!ev[i].id && (rc = cloud_event_new_id(id)))
			break;
		sqlite3_reset(q);
		int b = sq_bind_text(q, 1, ev[i].id ? ev[i].id : id) | sq_bind_text(q, 2, ev[i].source) | sq_bind_text(q, 3, ev[i].type) |
		        sq_bind_text(q, 4, ev[i].subject) | sq_bind_text(q, 5, now) | sq_bind_text(q, 6, ev[i].data) |
		        (deployment ? sq_bind_i64(q, 7, deployment) : sqlite3_bind_null(q, 7));
		if (b != SQLITE_OK || sqlite3_step(q) != SQLITE_DONE)
			rc = sq_db_error(s, "record event");
	}
	sqlite3_finalize(q);
	return rc;
}

static int sq_commit(struct store *st, const struct store_unit *u)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	int rc = sq_begin(s);
	if (rc)
		goto out_unlock;
	rc = change_resource(s, u);
	if (!rc)
		rc = insert_step(s, u->step, u->deployment);
	if (!rc)
		rc = insert_events(s, u->events, u->nevents, u->deployment);
	rc = sq_end_tx(s, rc);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- deployments ---- */

static int sq_deployment_begin(struct store *st, struct deployment *d, const char *lock_id, const struct store_emits *em)
{
	struct sqlite_store *s = S(st);
	int64_t id = 0;
	pthread_mutex_lock(&s->mu);
	int rc = sq_begin(s);
	if (rc)
		goto out_unlock;
	sqlite3_stmt *q;
	if ((rc = sq_prep(s, &q, "INSERT INTO deployments (project, environment, command, user, host, started, result, inputs) VALUES (?,?,?,?,?,?,'running',?)",
	               "start deployment")))
		goto out_end;
	rc = sq_run_stmt(s, q,
	              sq_bind_text(q, 1, d->project) | sq_bind_text(q, 2, d->environment) | sq_bind_text(q, 3, d->command) |
	              sq_bind_text(q, 4, d->user) | sq_bind_text(q, 5, d->host) | sq_bind_text(q, 6, d->started) | sq_bind_text(q, 7, d->inputs),
	              "start deployment");
	if (rc)
		goto out_end;
	id = sqlite3_last_insert_rowid(s->db);
	if (lock_id) {
		if ((rc = sq_prep(s, &q, "UPDATE locks SET deployment = ? WHERE id = ?", "record the lock's deployment")))
			goto out_end;
		rc = sq_run_stmt(s, q, sq_bind_i64(q, 1, id) | sq_bind_text(q, 2, lock_id), "record the lock's deployment");
	}
	if (!rc)
		rc = sq_insert_emits(s, em, &(struct store_emit_info){ .deployment = id });
out_end:
	rc = sq_end_tx(s, rc);
	if (!rc)
		d->id = id;
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_deployment_finish(struct store *st, const struct deployment *d, const struct store_emits *em)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	bool tx = em && em->n; /* alone, the UPDATE is its own transaction */
	int rc = tx ? sq_begin(s) : CRATIS_OK;
	if (rc)
		goto out_unlock;
	sqlite3_stmt *q;
	/* a deployment another run closed as interrupted (its lease was lost) stays closed */
	rc = sq_prep(s, &q, "UPDATE deployments SET finished=?, result=?, summary=? WHERE id=? AND (result IS NULL OR result = 'running')",
	          "finish deployment");
	if (!rc)
		rc = sq_run_stmt(s, q, sq_bind_text(q, 1, d->finished) | sq_bind_text(q, 2, d->result) | sq_bind_text(q, 3, d->summary) | sq_bind_i64(q, 4, d->id),
		              "finish deployment");
	if (tx) {
		if (!rc)
			rc = sq_insert_emits(s, em, &(struct store_emit_info){ .deployment = d->id });
		rc = sq_end_tx(s, rc);
	}
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_history(struct store *st, const char *environment, int limit, struct deployments *out)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "SELECT id, project, environment, command, user, host, started, finished, result, summary, inputs FROM deployments"
	                     " WHERE ?1 IS NULL OR environment = ?1 ORDER BY id DESC LIMIT ?2", "read history");
	if (rc)
		goto out_unlock;
	if (sq_bind_text(q, 1, environment) | sqlite3_bind_int(q, 2, limit > 0 ? limit : -1)) {
		rc = sq_db_error(s, "read history");
		goto out_finalize;
	}
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		struct deployment *d = &out->v[out->n++];
		memset(d, 0, sizeof(*d));
		d->id = sqlite3_column_int64(q, 0);
		d->project = sq_col(q, 1);
		d->environment = sq_colr(q, 2);
		d->command = sq_col(q, 3);
		d->user = sq_col(q, 4);
		d->host = sq_col(q, 5);
		d->started = sq_col(q, 6);
		d->finished = sq_col(q, 7);
		d->result = sq_col(q, 8);
		d->summary = sq_col(q, 9);
		d->inputs = sq_col(q, 10);
	}
	if (r != SQLITE_DONE)
		rc = sq_db_error(s, "read history");
out_finalize:
	sqlite3_finalize(q);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_steps(struct store *st, int64_t deployment, struct steps *out)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "SELECT resource, action, result, message, started, finished FROM steps WHERE deployment=? ORDER BY rowid", "read steps");
	if (rc)
		goto out_unlock;
	if (sq_bind_i64(q, 1, deployment)) {
		rc = sq_db_error(s, "read steps");
		goto out_finalize;
	}
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		struct step *x = &out->v[out->n++];
		memset(x, 0, sizeof(*x));
		x->resource = sq_colr(q, 0);
		x->action = sq_col(q, 1);
		x->result = sq_col(q, 2);
		x->message = sq_col(q, 3);
		x->started = sq_col(q, 4);
		x->finished = sq_col(q, 5);
	}
	if (r != SQLITE_DONE)
		rc = sq_db_error(s, "read steps");
out_finalize:
	sqlite3_finalize(q);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- artifacts ---- */

static void fill_artifact(struct artifact *a, sqlite3_stmt *q)
{
	memset(a, 0, sizeof(*a));
	a->name = sq_colr(q, 0);
	a->version = sq_colr(q, 1);
	a->digest = sq_colr(q, 2);
	a->snapshot = sqlite3_column_int(q, 3) != 0;
	a->current = sqlite3_column_int(q, 4) != 0;
	a->recorded = sq_colr(q, 5);
	a->user = sq_col(q, 6);
}

static int sq_artifact_record(struct store *st, const struct artifact *a, enum artifact_outcome *outcome,
                              struct artifact *existing)
{
	struct sqlite_store *s = S(st);
	char now[32];
	sq_now_text(s, now);
	memset(existing, 0, sizeof(*existing));
	pthread_mutex_lock(&s->mu);
	int rc = sq_begin(s);
	if (rc)
		goto out_unlock;
	sqlite3_stmt *q;
	if ((rc = sq_prep(s, &q, "SELECT name, version, digest, snapshot, current, recorded, user FROM artifacts"
	                      " WHERE name = ? AND version = ? AND current = 1", "read artifact")))
		goto out_end;
	bool found = false;
	if (sq_bind_text(q, 1, a->name) | sq_bind_text(q, 2, a->version)) {
		rc = sq_db_error(s, "read artifact");
	} else {
		int r = sqlite3_step(q);
		if (r == SQLITE_ROW) {
			fill_artifact(existing, q);
			found = true;
		} else if (r != SQLITE_DONE) {
			rc = sq_db_error(s, "read artifact");
		}
	}
	sqlite3_finalize(q);
	if (rc)
		goto out_end;
	if (found && !strcmp(existing->digest, a->digest)) {
		*outcome = ARTIFACT_SAME;
		goto out_end; /* nothing written: the commit is empty */
	}
	if (found && !a->snapshot) {
		rc = error_set(CRATIS_EEXISTS, "artifact '%s' %s is immutable: digest %s was recorded at %s; refusing %s (release a new version instead)",
		               a->name, a->version, existing->digest, existing->recorded, a->digest);
		goto out_end;
	}
	if (found) {
		if ((rc = sq_prep(s, &q, "UPDATE artifacts SET current = 0 WHERE name = ? AND version = ?", "supersede artifact")))
			goto out_end;
		if ((rc = sq_run_stmt(s, q, sq_bind_text(q, 1, a->name) | sq_bind_text(q, 2, a->version), "supersede artifact")))
			goto out_end;
	}
	if ((rc = sq_prep(s, &q, "INSERT INTO artifacts (name, version, digest, snapshot, current, recorded, user) VALUES (?,?,?,?,1,?,?)", "record artifact")))
		goto out_end;
	rc = sq_run_stmt(s, q,
	              sq_bind_text(q, 1, a->name) | sq_bind_text(q, 2, a->version) | sq_bind_text(q, 3, a->digest) |
	              sqlite3_bind_int(q, 4, a->snapshot) | sq_bind_text(q, 5, now) | sq_bind_text(q, 6, a->user),
	              "record artifact");
	*outcome = found ? ARTIFACT_REPLACED : ARTIFACT_NEW;
out_end:
	rc = sq_end_tx(s, rc);
	if (rc && rc != CRATIS_EEXISTS)
		artifact_release(existing);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int sq_artifacts(struct store *st, const char *name, bool history, struct artifacts *out)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "SELECT name, version, digest, snapshot, current, recorded, user FROM artifacts"
	                     " WHERE (?1 IS NULL OR name = ?1) AND (?2 OR current = 1) ORDER BY id DESC", "list artifacts");
	if (rc)
		goto out_unlock;
	if (sq_bind_text(q, 1, name) | sqlite3_bind_int(q, 2, history)) {
		rc = sq_db_error(s, "list artifacts");
		goto out_finalize;
	}
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		fill_artifact(&out->v[out->n++], q);
	}
	if (r != SQLITE_DONE)
		rc = sq_db_error(s, "list artifacts");
out_finalize:
	sqlite3_finalize(q);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- whole-store copies ---- */

/* "SELECT "c1", "c2" ... FROM t ORDER BY ..." for table k (the caller frees). */
static char *dump_sql(int k)
{
	const struct store_table_def *t = store_table_def((enum store_table)k);
	struct buf b = BUF_INIT;
	buf_adds(&b, "SELECT ");
	for (size_t i = 0; i < t->ncolumns; i++)
		buf_addf(&b, "%s\"%s\"", i ? ", " : "", t->columns[i]);
	buf_addf(&b, " FROM %s ORDER BY %s%s%s", t->name, t->order ? t->order : "", t->order && t->then_insertion ? ", " : "",
	         t->then_insertion ? "rowid" : "");
	return buf_detach(&b);
}

static int sq_dump(struct store *st, struct store_dump *out)
{
	struct sqlite_store *s = S(st);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	int rc = sq_exec(s, "BEGIN", "begin read");
	for (int k = 0; k < STORE_T__COUNT && !rc; k++) {
		const struct store_table_def *t = store_table_def((enum store_table)k);
		char *sql = dump_sql(k);
		sqlite3_stmt *q;
		rc = sq_prep(s, &q, sql, "dump");
		free(sql);
		if (rc)
			break;
		const char *cells[16];
		int r;
		while ((r = sqlite3_step(q)) == SQLITE_ROW) {
			for (size_t i = 0; i < t->ncolumns; i++)
				cells[i] = (const char *)sqlite3_column_text(q, (int)i);
			store_dump_add_row(&out->t[k], cells, t->ncolumns);
		}
		if (r != SQLITE_DONE)
			rc = sq_db_error(s, "dump");
		sqlite3_finalize(q);
	}
	int nlocks = 0;
	if (!rc)
		rc = read_int(s, "SELECT count(*) FROM locks", &nlocks, "dump");
	out->nlocks = (size_t)nlocks;
	if (sqlite3_get_autocommit(s->db) == 0)
		sqlite3_exec(s->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	pthread_mutex_unlock(&s->mu);
	if (rc)
		store_dump_release(out);
	return rc;
}

static int sq_load(struct store *st, const struct store_dump *in)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	int rc = sq_begin(s), n = 0;
	if (!rc)
		rc = read_int(s, "SELECT (SELECT count(*) FROM resources) + (SELECT count(*) FROM deployments) + (SELECT count(*) FROM steps)"
		                 " + (SELECT count(*) FROM artifacts) + (SELECT count(*) FROM releases) + (SELECT count(*) FROM locks)"
		                 " + (SELECT count(*) FROM events) + (SELECT count(*) FROM deliveries) + (SELECT count(*) FROM sinks)"
		                 " + (SELECT count(*) FROM records)",
		              &n, "read the target");
	if (!rc && n)
		rc = error_set(CRATIS_EEXISTS, "state '%s' already holds cratis data (%d rows): a copy goes into an empty store only", s->pub.path, n);
	for (int k = 0; k < STORE_T__COUNT && !rc; k++) {
		const struct store_table_def *t = store_table_def((enum store_table)k);
		struct buf b = BUF_INIT;
		buf_addf(&b, "INSERT INTO %s (", t->name);
		for (size_t i = 0; i < t->ncolumns; i++)
			buf_addf(&b, "%s\"%s\"", i ? ", " : "", t->columns[i]);
		buf_adds(&b, ") VALUES (");
		for (size_t i = 0; i < t->ncolumns; i++)
			buf_addf(&b, "%s?%zu", i ? ", " : "", i + 1);
		buf_adds(&b, ")");
		sqlite3_stmt *q;
		rc = sq_prep(s, &q, b.ptr, "load");
		buf_release(&b);
		if (rc)
			break;
		const struct store_table_dump *d = &in->t[k];
		for (size_t r = 0; r < d->nrows && !rc; r++) {
			sqlite3_reset(q);
			int bound = SQLITE_OK;
			for (size_t i = 0; i < t->ncolumns; i++)
				bound |= sq_bind_text(q, (int)i + 1, d->cells[r * t->ncolumns + i]);
			if (bound != SQLITE_OK || sqlite3_step(q) != SQLITE_DONE)
				rc = sq_db_error(s, "load");
		}
		sqlite3_finalize(q);
	}
	rc = sq_end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static const struct store_ops sqlite_ops = {
	.version = STORE_OPS_VERSION,
	.name = "sqlite",
	.close = sq_close,
	.try_lock = sq_try_lock,
	.renew = sq_renew,
	.unlock = sq_unlock,
	.lock_set_deployment = sq_lock_set_deployment,
	.locks = sq_locks,
	.list = sq_list,
	.commit = sq_commit,
	.deployment_begin = sq_deployment_begin,
	.deployment_finish = sq_deployment_finish,
	.history = sq_history,
	.steps = sq_steps,
	.artifact_record = sq_artifact_record,
	.artifacts = sq_artifacts,
	.release_put = sq_release_put,
	.releases = sq_releases,
	.schema_version = sq_schema_version,
	.dump = sq_dump,
	.release_allocate = sq_release_allocate,
	.load = sq_load,
	.events = sq_events,
	.deliveries = sq_deliveries,
	.delivery_mark = sq_delivery_mark,
	.sink_set_disabled = sq_sink_set_disabled,
	.sink_status = sq_sink_status,
	.redeliver = sq_redeliver,
	.record_put = sq_record_put,
	.record_get = sq_record_get,
	.records = sq_records,
	.record_delete = sq_record_delete,
};

/* Refuse what is not a state file (fresh: a file just created empty by create_fresh). */
static int check_file(const char *path, bool fresh)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return error_set(CRATIS_EIO, "cannot open state '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return error_set(CRATIS_EIO, "state '%s' is a directory, not a state database", path);
	if (st.st_size == 0 && !fresh)
		return error_set(CRATIS_EIO, "state '%s' is an empty file (0 bytes), not a cratis state database: refusing to take it as empty state (restore it, or remove it to start afresh)",
		                 path);
	return CRATIS_OK;
}

static int open_file(struct store **out, const char *path, const char *url, bool fresh);

/* Make the missing state database at path whole or not at all: build it (mode 0600, WAL, every
 * migration) under a temporary name beside it and link it into place, so that a concurrent
 * opener never sees a half-made file and a crash leaves no empty state.db (a leftover
 * temporary file is harmless). Another process that links first wins; its file is used. */
static int create_fresh(const char *path, const char *url)
{
	char *tmp = xasprintf("%s.new-%ld-%lx", path, (long)getpid(), (unsigned long)pthread_self());
	int rc = CRATIS_OK;
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = error_set(CRATIS_EIO, "cannot create state '%s': %s", path, strerror(errno));
		goto out_free;
	}
	close(fd);
	struct store *s;
	if ((rc = open_file(&s, tmp, url, true)))
		goto out_unlink;
	store_close(s); /* checkpoints the WAL into the file */
	if (link(tmp, path) < 0 && errno != EEXIST)
		rc = error_set(CRATIS_EIO, "cannot create state '%s': %s", path, strerror(errno));
out_unlink:
	unlink(tmp);
	for (size_t i = 0; i < 2; i++) {
		char *side = xasprintf("%s%s", tmp, i ? "-shm" : "-wal");
		unlink(side);
		free(side);
	}
out_free:
	free(tmp);
	return rc;
}

int sqlite_backend_open(struct store **out, const char *path, const char *url);

int sqlite_backend_open(struct store **out, const char *path, const char *url)
{
	*out = NULL;
	if (!*path)
		return error_set(CRATIS_EINVAL, "state URL '%s' names no file (expected sqlite:PATH)", url);
	struct stat st;
	if (stat(path, &st) != 0 && errno == ENOENT) {
		int rc = create_fresh(path, url);
		if (rc)
			return rc;
	}
	return open_file(out, path, url, false);
}

/* Whether the database header (https://www.sqlite.org/fileformat.html, 1.3) says WAL: the magic
 * string, then the file format write and read versions (bytes 18 and 19) both 2. Read through
 * SQLite's own descriptor without a lock: a hint only, as nothing but this open sets the mode. */
static bool header_says_wal(struct sqlite_store *s)
{
	static const char magic[16] = "SQLite format 3";
	sqlite3_file *f = NULL;
	unsigned char h[20];
	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f || !f->pMethods ||
	    f->pMethods->xRead(f, h, (int)sizeof(h), 0) != SQLITE_OK)
		return false;
	return !memcmp(h, magic, sizeof(magic)) && h[18] == 2 && h[19] == 2;
}

static int open_file(struct store **out, const char *path, const char *url, bool fresh)
{
	*out = NULL;
	(void)url;
	int rc = check_file(path, fresh);
	if (rc)
		return rc;
	struct sqlite_store *s = xcalloc(1, sizeof(*s));
	store_base_init(&s->pub, &sqlite_ops, path);
	pthread_mutex_init(&s->mu, NULL);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		rc = error_set(CRATIS_EIO, "cannot open state '%s': %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto out_close;
	}
	sqlite3_busy_timeout(s->db, 10000);
	/* Keep the -wal and -shm files beside the database when the last handle closes
	 * (SQLITE_FCNTL_PERSIST_WAL, https://www.sqlite.org/c3ref/c_fcntl_begin_atomic_write.html):
	 * creating and unlinking both was most of what an open cost. With a journal_size_limit
	 * (>= 0; 64 MiB also caps the WAL when it is reset) the close that checkpoints truncates the
	 * WAL to 0 bytes, so no checkpointed frame outlives it, as none did when it was unlinked. A
	 * VFS that refuses the hint deletes them at close as before, which is no error. */
	int persist = 1;
	(void)sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	/* journal_mode=WAL is persistent: set it only when the header does not already say WAL (one
	 * read transaction less per open; a file that is no database still fails here) */
	if (!header_says_wal(s) && (rc = sq_exec(s, "PRAGMA journal_mode=WAL", "open")))
		goto out_close;
	if ((rc = sq_exec(s, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=67108864;", "open")))
		goto out_close;
	if ((rc = migrate(s)))
		goto out_close;
	*out = &s->pub;
	return CRATIS_OK;
out_close:
	if (sqlite3_errcode(s->db) == SQLITE_NOTADB)
		rc = error_set(CRATIS_EIO, "state '%s' is not a SQLite database (%s): refusing to use it as state", path, sqlite3_errmsg(s->db));
	sq_close(&s->pub);
	return rc;
}
