/* What the PostgreSQL backend's files share: postgres.c (connection, schema, locks, resources,
 * deployments, artifacts, whole-store copies, URLs), postgres_releases.c, postgres_outbox.c and
 * postgres_records.c. Not a public interface: only src/state/postgres*.c include it. */
#ifndef CRATIS_STATE_POSTGRES_INTERNAL_H
#define CRATIS_STATE_POSTGRES_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdint.h>

#include "store.h"
#include "util/dynlib.h"

/* libpq is opened on first use (postgres_lib.c). The functions the backend calls: */
#define PQ_FUNCTIONS(X) \
	X(PQresultErrorMessage) X(PQerrorMessage) X(PQstatus) X(PQexecParams) X(PQresultStatus) X(PQclear) \
	X(PQgetisnull) X(PQgetvalue) X(PQconnectdbParams) X(PQfinish) X(PQexec) X(PQreset) X(PQtransactionStatus) \
	X(PQenterPipelineMode) X(PQsendQueryParams) X(PQpipelineSync) X(PQgetResult) X(PQcmdTuples) \
	X(PQexitPipelineMode) X(PQntuples) X(PQescapeIdentifier) X(PQfreemem) X(PQconninfoParse) X(PQconninfoFree) \
	X(PQresultErrorField)

/* Pointers to them, typed from <libpq-fe.h>. */
struct pq_api {
#define PQ_MEMBER(name) __typeof__(name) *name;
	PQ_FUNCTIONS(PQ_MEMBER)
#undef PQ_MEMBER
};

/* libpq, filled once by postgres.c's pq_load (under its pthread_once) and only read after. */
struct pg_pq_lib {
	struct dynlib lib;
	struct pq_api fn;
};
extern struct pg_pq_lib pq_lib;

/* Load libpq (once); CRATIS_OK, or the last error naming the library and its package. */
int pg_pq_loaded(void);

/* From here on every PQ call goes through the table (loaded before the first connection). */
#ifndef PG_PQ_TABLE_ONLY
#define PQresultErrorMessage (pq_lib.fn.PQresultErrorMessage)
#define PQerrorMessage (pq_lib.fn.PQerrorMessage)
#define PQstatus (pq_lib.fn.PQstatus)
#define PQexecParams (pq_lib.fn.PQexecParams)
#define PQresultStatus (pq_lib.fn.PQresultStatus)
#define PQclear (pq_lib.fn.PQclear)
#define PQgetisnull (pq_lib.fn.PQgetisnull)
#define PQgetvalue (pq_lib.fn.PQgetvalue)
#define PQconnectdbParams (pq_lib.fn.PQconnectdbParams)
#define PQfinish (pq_lib.fn.PQfinish)
#define PQexec (pq_lib.fn.PQexec)
#define PQreset (pq_lib.fn.PQreset)
#define PQtransactionStatus (pq_lib.fn.PQtransactionStatus)
#define PQenterPipelineMode (pq_lib.fn.PQenterPipelineMode)
#define PQsendQueryParams (pq_lib.fn.PQsendQueryParams)
#define PQpipelineSync (pq_lib.fn.PQpipelineSync)
#define PQgetResult (pq_lib.fn.PQgetResult)
#define PQcmdTuples (pq_lib.fn.PQcmdTuples)
#define PQexitPipelineMode (pq_lib.fn.PQexitPipelineMode)
#define PQntuples (pq_lib.fn.PQntuples)
#define PQescapeIdentifier (pq_lib.fn.PQescapeIdentifier)
#define PQfreemem (pq_lib.fn.PQfreemem)
#define PQconninfoParse (pq_lib.fn.PQconninfoParse)
#define PQconninfoFree (pq_lib.fn.PQconninfoFree)
#define PQresultErrorField (pq_lib.fn.PQresultErrorField)
#endif

/* An advisory lock this handle's lock session holds: key, and the lock (row) id it was taken for. */
struct pg_adv {
	int64_t key;
	char id[40];
};

struct pg_store {
	struct store pub;
	char *conninfo;       /* the URL as libpq takes it (our own parameters removed) */
	char *schema;         /* unquoted schema name */
	char *schema_q;       /* schema as a quoted SQL identifier */
	PGconn *db;           /* data connection, guarded by mu */
	pthread_mutex_t mu;
	PGconn *lockdb;       /* advisory-lock session (opened on the first lock), guarded by lock_mu */
	pthread_mutex_t lock_mu;
	struct pg_adv *adv;   /* advisory locks lockdb holds; guarded by lock_mu */
	size_t nadv, aadv;
};

#define P(st) ((struct pg_store *)(st))

/* Set the last error to "state 'URL': WHAT: libpq's message" (r's, else c's); CRATIS_EIO. */
int pg_error(struct pg_store *s, PGconn *c, const PGresult *r, const char *what);
/* Run sql with n text parameters (NULL = SQL NULL) on s's data connection (caller holds s->mu);
 * *res gets the result when res is not NULL (PQclear it). CRATIS_OK or CRATIS_EIO naming what. */
int pg_q(struct pg_store *s, PGresult **res, const char *sql, int n, const char *const *params, const char *what);
/* A cell as a heap string: NULL for SQL NULL / "" for NULL (a NOT NULL column); as an integer
 * (0 for NULL). */
char *pg_val(const PGresult *r, int row, int c);
char *pg_valr(const PGresult *r, int row, int c);
int64_t pg_ival(const PGresult *r, int row, int c);
/* Decimal text of v in buf, for a parameter; returns buf. */
const char *pg_i64(char buf[24], int64_t v);
/* Now on the store clock as RFC 3339 UTC. */
void pg_now_text(struct pg_store *s, char out[32]);
/* Reconnect the data connection if it was lost. CRATIS_OK or CRATIS_EIO. */
int pg_db_ready(struct pg_store *s);
/* BEGIN; commit when rc is CRATIS_OK (returning the commit's status), else roll back and return rc. */
int pg_begin(struct pg_store *s);
int pg_end_tx(struct pg_store *s, int rc);
/* Append em's outbox rows for info inside the caller's transaction (em NULL or empty: none). */
int pg_insert_emits(struct pg_store *s, const struct store_emits *em, const struct store_emit_info *info);

/* Units of work: statements sent as one pipeline. */
#define UNIT_MAX_STMTS 8
#define UNIT_MAX_PARAMS 12

struct unit_stmt {
	const char *sql;
	int n;
	const char *params[UNIT_MAX_PARAMS];
	/* When not NULL, the statement must change at least one row, else the unit fails with
	 * CRATIS_ENOTFOUND and this message (the unit then runs as BEGIN ... COMMIT/ROLLBACK). */
	const char *none_msg;
	/* When not NULL, a unique violation (SQLSTATE 23505) by the statement fails the unit with
	 * CRATIS_EEXISTS and this message. */
	const char *exists_msg;
	char nums[3][24];     /* room for integer parameters */
};

struct unit_batch {
	struct unit_stmt v[UNIT_MAX_STMTS];
	size_t n;
	char msg[2][512];     /* room for a change's none_msg / exists_msg */
	char when[32];        /* the events' time (store clock) */
};

/* Append a statement running sql to b (at most UNIT_MAX_STMTS); fill its n and params. */
struct unit_stmt *pg_batch_add(struct unit_batch *b, const char *sql);
/* Send b's statements in pipeline mode and read their results: one round trip, one implicit
 * transaction (all or nothing). With a none_msg check, BEGIN heads the pipeline and COMMIT or
 * ROLLBACK follows once the results are read. CRATIS_OK, CRATIS_ENOTFOUND (none_msg),
 * CRATIS_EEXISTS (exists_msg) or CRATIS_EIO naming what. */
int pg_batch_run(struct pg_store *s, const struct unit_batch *b, const char *what);

/* postgres_releases.c */
int pg_release_put(struct store *st, const struct release *v, size_t n, const struct store_emits *em);
int pg_release_allocate(struct store *st, struct release *r, const struct port_range *range);
int pg_releases(struct store *st, const char *environment, const char *project, const char *rollout, struct releases *out);

/* postgres_outbox.c */
int pg_events(struct store *st, const struct event_query *q, struct store_events *out);
int pg_deliveries(struct store *st, const char *sink, size_t limit, struct event_deliveries *out);
int pg_delivery_mark(struct store *st, const char *sink, const struct delivery_mark *m, size_t n);
int pg_sink_set_disabled(struct store *st, const char *sink, bool disabled, const char *reason);
int pg_sink_status(struct store *st, const char *sink, struct store_sink_status *out);
int pg_redeliver(struct store *st, const char *sink, const char *event_id, const char *since, size_t *n);

/* postgres_records.c */
int pg_record_put(struct store *st, struct record *r, int64_t expect, const struct store_emits *em);
int pg_record_get(struct store *st, const char *kind, const char *scope, const char *name, struct record *out);
int pg_records(struct store *st, const char *kind, const char *scope, struct records *out);
int pg_record_delete(struct store *st, const char *kind, const char *scope, const char *name, int64_t expect,
                     const struct store_emits *em);

#endif
