/* What the SQLite backend's files share (sqlite.c: connection, schema, locks, resources,
 * deployments, releases, the outbox; sqlite_records.c: records). Not a public interface: only
 * src/state/sqlite*.c include it. */
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

/* sqlite_records.c: the record ops of struct store_ops (version 5). */
int sq_record_put(struct store *st, struct record *r, int64_t expect, const struct store_emits *em);
int sq_record_get(struct store *st, const char *kind, const char *scope, const char *name, struct record *out);
int sq_records(struct store *st, const char *kind, const char *scope, struct records *out);
int sq_record_delete(struct store *st, const char *kind, const char *scope, const char *name, int64_t expect,
                     const struct store_emits *em);

#endif
