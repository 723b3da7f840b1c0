/* What the SQLite backend's files share: sqlite.c (connection, schema, locks, resources,
 * deployments, artifacts, whole-store copies), sqlite_releases.c, sqlite_outbox.c and
 * sqlite_records.c. Not a public interface: only src/state/sqlite*.c include it. */
#ifndef CRATIS_STATE_SQLITE_INTERNAL_H
#define CRATIS_STATE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "store.h"

struct sqlite_store {
	struct store pub;
	sqlite3 *db;
	pthread_mutex_t mu;   /* serialises every use of db */
};

#define S(st) ((struct sqlite_store *)(st))

/* Set the last error to "state 'PATH': WHAT: sqlite's message"; returns CRATIS_EIO. */
int sq_db_error(struct sqlite_store *s, const char *what);
/* Run sql (no results) on s's connection; CRATIS_OK or CRATIS_EIO (last error set). */
int sq_exec(struct sqlite_store *s, const char *sql, const char *what);
/* BEGIN IMMEDIATE (a writer's transaction); CRATIS_OK or CRATIS_EIO. Caller holds s->mu. */
int sq_begin(struct sqlite_store *s);
/* Commit when rc is CRATIS_OK (returning the commit's status), else roll back and return rc. */
int sq_end_tx(struct sqlite_store *s, int rc);
/* Prepare sql into *q (NULL on failure); CRATIS_OK or CRATIS_EIO naming what. */
int sq_prep(struct sqlite_store *s, sqlite3_stmt **q, const char *sql, const char *what);
/* Column i of the current row as a heap string (NULL for SQL NULL) / "" for NULL. */
char *sq_col(sqlite3_stmt *st, int i);
char *sq_colr(sqlite3_stmt *st, int i);
/* Bind v (NULL binds SQL NULL, text is copied) / a 64-bit integer; SQLite's result code. */
int sq_bind_text(sqlite3_stmt *st, int i, const char *v);
int sq_bind_i64(sqlite3_stmt *st, int i, int64_t v);
/* Now on the store clock as RFC 3339 UTC. */
void sq_now_text(struct sqlite_store *s, char out[32]);
/* Step st to completion and finalize it; bound != SQLITE_OK means a bind failed. CRATIS_OK or
 * CRATIS_EIO naming what. */
int sq_run_stmt(struct sqlite_store *s, sqlite3_stmt *st, int bound, const char *what);
/* Append em's outbox rows for info inside the caller's transaction (em NULL or empty: none). */
int sq_insert_emits(struct sqlite_store *s, const struct store_emits *em, const struct store_emit_info *info);

/* sqlite_releases.c: the release ops of struct store_ops. */
int sq_release_put(struct store *st, const struct release *v, size_t n, const struct store_emits *em);
int sq_release_allocate(struct store *st, struct release *r, const struct port_range *range);
int sq_releases(struct store *st, const char *environment, const char *project, const char *rollout, struct releases *out);

/* sqlite_outbox.c: the outbox ops of struct store_ops (version 3). */
int sq_events(struct store *st, const struct event_query *eq, struct store_events *out);
int sq_deliveries(struct store *st, const char *sink, size_t limit, struct event_deliveries *out);
int sq_delivery_mark(struct store *st, const char *sink, const struct delivery_mark *m, size_t n);
int sq_sink_set_disabled(struct store *st, const char *sink, bool disabled, const char *reason);
int sq_sink_status(struct store *st, const char *sink, struct store_sink_status *out);
int sq_redeliver(struct store *st, const char *sink, const char *event_id, const char *since, size_t *n);

/* sqlite_records.c: the record ops of struct store_ops (version 5). */
int sq_record_put(struct store *st, struct record *r, int64_t expect, const struct store_emits *em);
int sq_record_get(struct store *st, const char *kind, const char *scope, const char *name, struct record *out);
int sq_records(struct store *st, const char *kind, const char *scope, struct records *out);
int sq_record_delete(struct store *st, const char *kind, const char *scope, const char *name, int64_t expect,
                     const struct store_emits *em);

#endif
