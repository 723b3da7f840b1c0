/* PostgreSQL state backend ("postgres://..." or "postgresql://...": any libpq connection URI).
 * The tables live in one schema per installation (default "cratis", `?schema=NAME`, or the first
 * entry of a search_path set through `?options=-csearch_path%3DNAME`), so several installations
 * share a server. One connection per handle for data, serialised by a mutex; a second, dedicated
 * connection holds the session-level advisory locks of the environments this handle locks, so a
 * holder whose process dies loses its advisory lock the moment its session ends. Locks are rows
 * too (owner, host, pid, command, lease), with the same rules as the SQLite backend. Schema
 * changes are the same numbered migrations, recorded in schema_migrations. A unit of work is sent
 * as one pipeline in one implicit transaction: one round trip. */
#define _GNU_SOURCE
#include "store.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cratis/plugin.h"
#include "util/error.h"
#include "util/buf.h"
#include "util/dynlib.h"
#include "util/util.h"
#include "banned.h"

#if !defined(CRATIS_LIBPQ_SONAME) || !defined(CRATIS_LIBPQ_PACKAGE)
#error "meson.build defines CRATIS_LIBPQ_SONAME and CRATIS_LIBPQ_PACKAGE"
#endif

/* libpq is opened on first use (util/dynlib.h), like libgit2: a run on SQLite state never loads
 * it nor what it links (Kerberos, LDAP, TLS). The functions this file calls: */
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

/* Filled once by pq_load (under pq_once) and only read after. */
static struct {
	struct dynlib lib;
	struct pq_api fn;
} pq_lib;
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;

static void pq_load(void)
{
	if (dynlib_open(&pq_lib.lib, "libpq", CRATIS_LIBPQ_SONAME, CRATIS_LIBPQ_PACKAGE))
		return;
#define PQ_RESOLVE(name) pq_lib.fn.name = (__typeof__(pq_lib.fn.name))dynlib_sym(&pq_lib.lib, #name);
	PQ_FUNCTIONS(PQ_RESOLVE)
#undef PQ_RESOLVE
}

/* Load libpq (once); CRATIS_OK, or the last error naming the library and its package. */
static int pq_loaded(void)
{
	return dynlib_load_once(&pq_once, pq_load, &pq_lib.lib);
}

/* From here on every PQ call goes through the table (loaded before the first connection). */
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

/* Migration 1: the baseline (the tables of SQLite's schema 1, in PostgreSQL's dialect). Keys are
 * "C"-collated so that rows come back in byte order, as store_rows_find expects. */
static const char schema_v1[] =
	"CREATE TABLE resources ("
	" project TEXT COLLATE \"C\" NOT NULL, environment TEXT COLLATE \"C\" NOT NULL, id TEXT COLLATE \"C\" NOT NULL,"
	" api_version TEXT NOT NULL, spec TEXT, outputs TEXT, deps TEXT, status TEXT NOT NULL, pending_spec TEXT,"
	" message TEXT, updated TEXT NOT NULL, deployment BIGINT, PRIMARY KEY (environment, project, id));"
	"CREATE TABLE deployments ("
	" id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, project TEXT, environment TEXT NOT NULL, command TEXT,"
	" \"user\" TEXT, host TEXT, started TEXT, finished TEXT, result TEXT, summary TEXT, inputs TEXT);"
	"CREATE INDEX deployments_by_environment ON deployments (environment, id);"
	"CREATE TABLE steps ("
	" seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, deployment BIGINT NOT NULL, resource TEXT NOT NULL,"
	" action TEXT, result TEXT, message TEXT, started TEXT, finished TEXT);"
	"CREATE INDEX steps_by_deployment ON steps (deployment, seq);"
	"CREATE TABLE locks ("
	" environment TEXT COLLATE \"C\" PRIMARY KEY, id TEXT NOT NULL, pid BIGINT, host TEXT, \"user\" TEXT,"
	" command TEXT, since TEXT);"
	"CREATE TABLE artifacts ("
	" id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL,"
	" digest TEXT NOT NULL, snapshot INTEGER NOT NULL, current INTEGER NOT NULL, recorded TEXT NOT NULL, \"user\" TEXT);"
	"CREATE INDEX artifacts_by_name ON artifacts (name, version, current);"
	"CREATE TABLE releases ("
	" seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, environment TEXT NOT NULL, project TEXT NOT NULL,"
	" rollout TEXT NOT NULL, id TEXT NOT NULL, colour TEXT, port INTEGER, spec TEXT, status TEXT, stage TEXT, log TEXT,"
	" created TEXT, updated TEXT, retire_at BIGINT, UNIQUE (environment, project, rollout, id));";

/* Migration 2: locks as leases, as in SQLite; plus `advisory`: whether the holder's session held
 * the environment's advisory lock when it took the row (then a free advisory lock proves the
 * holder gone). */
static const char schema_v2[] =
	"ALTER TABLE locks ADD COLUMN owner TEXT,"
	" ADD COLUMN acquired BIGINT NOT NULL DEFAULT 0, ADD COLUMN heartbeat BIGINT NOT NULL DEFAULT 0,"
	" ADD COLUMN expires BIGINT NOT NULL DEFAULT 0, ADD COLUMN lease_ms INTEGER NOT NULL DEFAULT 30000,"
	" ADD COLUMN deployment BIGINT, ADD COLUMN advisory BOOLEAN NOT NULL DEFAULT false;"
	"CREATE UNIQUE INDEX locks_by_id ON locks (id);";

/* Migration 3: the event outbox, as in SQLite. */
static const char schema_v3[] =
	"CREATE TABLE events ("
	" seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, id TEXT NOT NULL UNIQUE, source TEXT NOT NULL,"
	" type TEXT NOT NULL, subject TEXT, time TEXT NOT NULL, data TEXT, deployment BIGINT);"
	"CREATE TABLE deliveries ("
	" sink TEXT COLLATE \"C\" NOT NULL, seq BIGINT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
	" first_attempt BIGINT, next_attempt BIGINT, last_error TEXT, delivered TEXT, PRIMARY KEY (sink, seq));"
	"CREATE TABLE sinks ("
	" name TEXT COLLATE \"C\" PRIMARY KEY, disabled INTEGER NOT NULL DEFAULT 0, reason TEXT, last_error TEXT,"
	" last_delivered TEXT);";

/* Migration 4: records, as in SQLite. */
static const char schema_v4[] =
	"CREATE TABLE records ("
	" kind TEXT COLLATE \"C\" NOT NULL, scope TEXT COLLATE \"C\" NOT NULL, name TEXT COLLATE \"C\" NOT NULL,"
	" body TEXT NOT NULL, revision BIGINT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL,"
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

/* ---- helpers ---- */

/* libpq's message without its trailing newline(s). */
static char *trimmed(const char *m)
{
	char *t = xstrdup(m && *m ? m : "unknown error");
	size_t n = strlen(t);
	while (n && (t[n - 1] == '\n' || t[n - 1] == ' '))
		t[--n] = 0;
	return t;
}

static int pg_error(struct pg_store *s, PGconn *c, const PGresult *r, const char *what)
{
	const char *m = r ? PQresultErrorMessage(r) : NULL;
	char *t = trimmed(m && *m ? m : PQerrorMessage(c));
	int rc = error_set(CRATIS_EIO, "state '%s': %s: %s%s", s->pub.path, what, t,
	                   PQstatus(c) == CONNECTION_BAD ? " (connection to the server lost)" : "");
	free(t);
	return rc;
}

/* Run sql with n text parameters (NULL = SQL NULL) on connection c; *res gets the result when
 * res is not NULL (PQclear it). */
static int pq_on(struct pg_store *s, PGconn *c, PGresult **res, const char *sql, int n, const char *const *params,
                 const char *what)
{
	if (res)
		*res = NULL;
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		int rc = pg_error(s, c, r, what);
		PQclear(r);
		return rc;
	}
	if (res)
		*res = r;
	else
		PQclear(r);
	return CRATIS_OK;
}

static int pq(struct pg_store *s, PGresult **res, const char *sql, int n, const char *const *params, const char *what)
{
	return pq_on(s, s->db, res, sql, n, params, what);
}

static char *val(const PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? NULL : xstrdup(PQgetvalue(r, row, c));
}

/* A NOT NULL column: "" rather than NULL. */
static char *valr(const PGresult *r, int row, int c)
{
	return xstrdup(PQgetvalue(r, row, c));
}

static int64_t ival(const PGresult *r, int row, int c)
{
	return PQgetisnull(r, row, c) ? 0 : strtoll(PQgetvalue(r, row, c), NULL, 10);
}

static void val_into(char *dst, size_t n, const PGresult *r, int row, int c)
{
	snprintf(dst, n, "%s", PQgetvalue(r, row, c));
}

/* Decimal text of v in buf (a parameter). */
static const char *i64(char buf[24], int64_t v)
{
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

static void now_text(struct pg_store *s, char out[32])
{
	store_format_time(store_now(&s->pub), out);
}

/* FNV-1a 64 of the schema, a NUL, and key: advisory lock keys are per installation. */
static int64_t adv_key(const struct pg_store *s, const char *key)
{
	uint64_t h = 1469598103934665603ULL;
	const char *parts[2] = { s->schema, key };
	for (int p = 0; p < 2; p++) {
		for (const unsigned char *c = (const unsigned char *)parts[p]; *c; c++)
			h = (h ^ *c) * 1099511628211ULL;
		h = (h ^ 0) * 1099511628211ULL;
	}
	return (int64_t)h;
}

/* The two int4 halves of a key, for pg_advisory_xact_lock(int, int): a key space apart from the
 * bigint keys of the session locks (PostgreSQL keeps the two forms apart). */
static void key_halves(int64_t k, char hi[24], char lo[24])
{
	i64(hi, (int32_t)((uint64_t)k >> 32));
	i64(lo, (int32_t)((uint64_t)k & 0xffffffffu));
}

/* Connect with conninfo (a libpq URI); the session uses schema (quoted) first. */
static int pg_connect(struct pg_store *s, PGconn **out)
{
	const char *keys[4], *vals[4];
	int k = 0;
	keys[k] = "fallback_application_name", vals[k++] = "cratis";
	if (!getenv("PGCONNECT_TIMEOUT"))
		keys[k] = "connect_timeout", vals[k++] = "10";
	keys[k] = "dbname", vals[k++] = s->conninfo;
	keys[k] = NULL, vals[k] = NULL;
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (!c)
		return error_set(CRATIS_ENOMEM, "state '%s': cannot allocate a connection", s->pub.path);
	if (PQstatus(c) != CONNECTION_OK) {
		char *t = trimmed(PQerrorMessage(c));
		int rc = error_set(CRATIS_EIO, "cannot connect to state '%s': %s", s->pub.path, t);
		free(t);
		PQfinish(c);
		return rc;
	}
	*out = c;
	return CRATIS_OK;
}

/* search_path := the installation's schema (then nothing else: every table is ours). */
static int set_path(struct pg_store *s, PGconn *c)
{
	char *sql = xasprintf("SET search_path TO %s; SET client_encoding TO 'UTF8'", s->schema_q);
	PGresult *r = PQexec(c, sql);
	free(sql);
	int rc = CRATIS_OK;
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pg_error(s, c, r, "select the schema");
	PQclear(r);
	return rc;
}

/* Before an operation on the data connection (mu held): reconnect once when the server dropped
 * it (a restart, an idle timeout); a failed reconnect is the operation's error. */
static int db_ready(struct pg_store *s)
{
	if (PQstatus(s->db) == CONNECTION_OK)
		return CRATIS_OK;
	PQreset(s->db);
	if (PQstatus(s->db) != CONNECTION_OK)
		return pg_error(s, s->db, NULL, "reconnect");
	return set_path(s, s->db);
}

static int run_begin(struct pg_store *s)
{
	return pq(s, NULL, "BEGIN", 0, NULL, "begin transaction");
}

/* Commit when rc is CRATIS_OK (returning the commit's status), else roll back and return rc. */
static int end_tx(struct pg_store *s, int rc)
{
	if (rc) {
		if (PQtransactionStatus(s->db) != PQTRANS_IDLE)
			PQclear(PQexec(s->db, "ROLLBACK"));
		return rc;
	}
	return pq(s, NULL, "COMMIT", 0, NULL, "commit");
}

/* ---- units of work: statements sent as one pipeline ---- */

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

static struct unit_stmt *batch_add(struct unit_batch *b, const char *sql)
{
	struct unit_stmt *x = &b->v[b->n++];
	memset(x, 0, sizeof(*x));
	x->sql = sql;
	return x;
}

/* Send b's statements in pipeline mode and read their results: one round trip, one implicit
 * transaction (all or nothing). With a none_msg check, BEGIN heads the pipeline and COMMIT or
 * ROLLBACK follows once the results are read. */
static int batch_run(struct pg_store *s, const struct unit_batch *b, const char *what)
{
	PGconn *c = s->db;
	bool checked = false;
	for (size_t i = 0; i < b->n; i++)
		checked |= b->v[i].none_msg != NULL;
	if (!PQenterPipelineMode(c))
		return pg_error(s, c, NULL, what);
	int rc = CRATIS_OK;
	size_t sent = 0;
	bool ok = !checked || PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
	for (size_t i = 0; ok && i < b->n; i++, sent++)
		ok = PQsendQueryParams(c, b->v[i].sql, b->v[i].n, NULL, b->v[i].params, NULL, NULL, 0);
	ok = ok && PQpipelineSync(c);
	if (!ok)
		rc = pg_error(s, c, NULL, what);
	/* read every result of what was sent (a statement's result, then NULL), then the sync */
	size_t nread = (checked ? 1 : 0) + sent;
	for (size_t i = 0; ok && i < nread; i++) {
		PGresult *r;
		bool first = true;
		while ((r = PQgetResult(c))) {
			ExecStatusType st = PQresultStatus(r);
			size_t k = i - (checked ? 1 : 0);
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			if (first && !rc && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && (!checked || i > 0) &&
			    b->v[k].exists_msg && state && !strcmp(state, "23505"))
				rc = error_set(CRATIS_EEXISTS, "state '%s': %s", s->pub.path, b->v[k].exists_msg);
			else if (first && !rc && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
				rc = pg_error(s, c, r, what);
			if (first && !rc && (!checked || i > 0) && b->v[k].none_msg && !strcmp(PQcmdTuples(r), "0"))
				rc = error_set(CRATIS_ENOTFOUND, "state '%s': %s", s->pub.path, b->v[k].none_msg);
			first = false;
			PQclear(r);
		}
	}
	if (ok) {
		PGresult *r = PQgetResult(c); /* PGRES_PIPELINE_SYNC */
		if (PQresultStatus(r) != PGRES_PIPELINE_SYNC && !rc)
			rc = pg_error(s, c, r, what);
		PQclear(r);
	}
	if (!PQexitPipelineMode(c) && !rc)
		rc = pg_error(s, c, NULL, what);
	if (checked)
		rc = end_tx(s, rc);
	return rc;
}

/* ---- schema ---- */

static int read_version(struct pg_store *s, int *out)
{
	PGresult *r;
	int rc = pq(s, &r, "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL, "read schema version");
	if (rc)
		return rc;
	*out = (int)ival(r, 0, 0);
	PQclear(r);
	return CRATIS_OK;
}

/* Tables in our schema (all, and schema_migrations). */
static int count_tables(struct pg_store *s, int *tables, bool *ours)
{
	PGresult *r;
	const char *p[1] = { s->schema };
	int rc = pq(s, &r, "SELECT count(*), count(*) FILTER (WHERE tablename = 'schema_migrations') FROM pg_tables WHERE schemaname = $1",
	            1, p, "read schema");
	if (rc)
		return rc;
	*tables = (int)ival(r, 0, 0);
	*ours = ival(r, 0, 1) > 0;
	PQclear(r);
	return CRATIS_OK;
}

static int pg_schema_version(struct store *st, int *out)
{
	struct pg_store *s = P(st);
	pthread_mutex_lock(&s->mu);
	int rc = db_ready(s);
	if (!rc)
		rc = read_version(s, out);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int refuse_newer(struct pg_store *s, int version)
{
	return error_set(CRATIS_EINVAL, "state '%s' has schema version %d, newer than this cratis knows (%d): it was written by a newer cratis; upgrade cratis to use it",
	                 s->pub.path, version, STORE_SCHEMA_LATEST);
}

static int refuse_foreign(struct pg_store *s, int tables)
{
	return error_set(CRATIS_EIO, "state '%s': schema '%s' holds %d table%s without cratis' tables (no schema_migrations table): refusing to use it as state (name another schema with ?schema=NAME)",
	                 s->pub.path, s->schema, tables, tables == 1 ? "" : "s");
}

/* Bring the schema to STORE_SCHEMA_LATEST in one transaction, serialised between installers by a
 * transaction advisory lock on the schema's name. */
static int migrate(struct pg_store *s)
{
	int tables, version = 0;
	bool ours;
	int rc = count_tables(s, &tables, &ours);
	if (rc)
		return rc;
	if (ours && (rc = read_version(s, &version)))
		return rc;
	if (version > STORE_SCHEMA_LATEST)
		return refuse_newer(s, version);
	if (version == STORE_SCHEMA_LATEST)
		return CRATIS_OK;
	if (tables && !ours)
		return refuse_foreign(s, tables);
	if ((rc = run_begin(s)))
		return rc;
	char hi[24], lo[24];
	key_halves(adv_key(s, "\001migrate"), hi, lo);
	const char *kp[2] = { hi, lo };
	if ((rc = pq(s, NULL, "SELECT pg_advisory_xact_lock($1::int4, $2::int4)", 2, kp, "wait for another migration")))
		goto out_end;
	char *sql = xasprintf("CREATE SCHEMA IF NOT EXISTS %s", s->schema_q);
	rc = pq(s, NULL, sql, 0, NULL, "create schema");
	free(sql);
	if (rc)
		goto out_end;
	/* again under the lock: another process may have migrated meanwhile */
	if ((rc = count_tables(s, &tables, &ours)))
		goto out_end;
	version = 0;
	if (ours && (rc = read_version(s, &version)))
		goto out_end;
	if (tables && !ours) {
		rc = refuse_foreign(s, tables);
		goto out_end;
	}
	if (version > STORE_SCHEMA_LATEST) {
		rc = refuse_newer(s, version);
		goto out_end;
	}
	if ((rc = pq(s, NULL, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)",
	             0, NULL, "create schema_migrations")))
		goto out_end;
	char now[32];
	now_text(s, now);
	for (int i = 0; i < NMIGRATIONS && !rc; i++) {
		const struct migration *m = &migrations[i];
		if (m->version <= version)
			continue;
		char *what = xasprintf("migration %d (%s)", m->version, m->name);
		PGresult *r = PQexec(s->db, m->sql); /* several statements: the simple protocol */
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = pg_error(s, s->db, r, what);
		PQclear(r);
		free(what);
		if (rc)
			break;
		char v[24];
		const char *p[3] = { i64(v, m->version), m->name, now };
		rc = pq(s, NULL, "INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)", 3, p, "record migration");
	}
out_end:
	return end_tx(s, rc);
}

/* ---- locks ---- */

#define LOCK_COLS "environment, id, pid, host, \"user\", command, since, owner, acquired, heartbeat, expires, lease_ms, deployment, advisory"

static void fill_lock(struct lock_info *l, const PGresult *r, int i)
{
	memset(l, 0, sizeof(*l));
	val_into(l->environment, sizeof(l->environment), r, i, 0);
	val_into(l->id, sizeof(l->id), r, i, 1);
	l->pid = (long)ival(r, i, 2);
	val_into(l->host, sizeof(l->host), r, i, 3);
	val_into(l->user, sizeof(l->user), r, i, 4);
	val_into(l->command, sizeof(l->command), r, i, 5);
	val_into(l->since, sizeof(l->since), r, i, 6);
	val_into(l->owner, sizeof(l->owner), r, i, 7);
	l->acquired = ival(r, i, 8);
	l->heartbeat = ival(r, i, 9);
	l->expires = ival(r, i, 10);
	l->lease_ms = (int)ival(r, i, 11);
	l->deployment = ival(r, i, 12);
}

/* The lock row matching key (environment or id) into *l; *found, *advisory (its holder's session
 * held the advisory lock). Takes a row lock when for_update. */
static int find_lock(struct pg_store *s, bool by_id, const char *key, struct lock_info *l, bool *found, bool *advisory)
{
	*found = false;
	*advisory = false;
	PGresult *r;
	const char *p[1] = { key };
	int rc = pq(s, &r, by_id ? "SELECT " LOCK_COLS " FROM locks WHERE id = $1 FOR UPDATE"
	                         : "SELECT " LOCK_COLS " FROM locks WHERE environment = $1 FOR UPDATE",
	            1, p, "read lock");
	if (rc)
		return rc;
	if (PQntuples(r) > 0) {
		fill_lock(l, r, 0);
		*advisory = !strcmp(PQgetvalue(r, 0, 13), "t");
		*found = true;
	}
	PQclear(r);
	return CRATIS_OK;
}

/* Close deployment id as interrupted, if it still runs (inside the caller's transaction). */
static int close_interrupted(struct pg_store *s, int64_t id, const struct lock_info *h, const char *why)
{
	if (!id)
		return CRATIS_OK;
	char now[32], idb[24];
	now_text(s, now);
	char *summary = xasprintf("interrupted: the run (%s@%s pid %ld) is gone or stopped renewing its lease; %s", h->user, h->host, h->pid, why);
	const char *p[3] = { now, summary, i64(idb, id) };
	int rc = pq(s, NULL, "UPDATE deployments SET result = 'interrupted', finished = $1,"
	                     " summary = CASE WHEN summary IS NULL OR summary = '' THEN $2 ELSE summary END"
	                     " WHERE id = $3 AND (result IS NULL OR result = 'running')",
	            3, p, "close interrupted deployment");
	free(summary);
	return rc;
}

/* Index of key in s->adv, or -1 (lock_mu held). */
static long adv_find_key(struct pg_store *s, int64_t key)
{
	for (size_t i = 0; i < s->nadv; i++)
		if (s->adv[i].key == key)
			return (long)i;
	return -1;
}

/* Open the advisory-lock session if needed (lock_mu held). */
static int lockdb_ready(struct pg_store *s)
{
	if (s->lockdb && PQstatus(s->lockdb) == CONNECTION_OK)
		return CRATIS_OK;
	if (s->lockdb) { /* the session died: every advisory lock it held is gone */
		PQfinish(s->lockdb);
		s->lockdb = NULL;
		s->nadv = 0;
	}
	return pg_connect(s, &s->lockdb);
}

/* pg_try_advisory_lock(key) on the lock session (lock_mu held): *got. */
static int adv_try(struct pg_store *s, int64_t key, bool *got)
{
	*got = false;
	int rc = lockdb_ready(s);
	if (rc)
		return rc;
	char kb[24];
	const char *p[1] = { i64(kb, key) };
	PGresult *r;
	if ((rc = pq_on(s, s->lockdb, &r, "SELECT pg_try_advisory_lock($1::int8)", 1, p, "take the advisory lock")))
		return rc;
	*got = !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	return CRATIS_OK;
}

/* Release advisory lock key on the lock session (lock_mu held); best effort: a session that is
 * gone holds nothing. */
static void adv_release(struct pg_store *s, int64_t key)
{
	if (!s->lockdb || PQstatus(s->lockdb) != CONNECTION_OK)
		return;
	char kb[24];
	const char *p[1] = { i64(kb, key) };
	PGresult *r = PQexecParams(s->lockdb, "SELECT pg_advisory_unlock($1::int8)", 1, NULL, p, NULL, NULL, 0);
	PQclear(r);
}

/* Append em's outbox rows for info, one INSERT each, inside the caller's transaction (s->mu
 * held). */
static int insert_emits(struct pg_store *s, const struct store_emits *em, const struct store_emit_info *info)
{
	if (!em || !em->n)
		return CRATIS_OK;
	struct store_event *v;
	store_emits_resolve(em, info, &v);
	char now[32], dep[24];
	cloud_event_format_time(store_now(&s->pub), now);
	int rc = CRATIS_OK;
	for (size_t i = 0; i < em->n && !rc; i++) {
		char id[37];
		if (!v[i].id && (rc = cloud_event_new_id(id)))
			break;
		const char *p[7] = { v[i].id ? v[i].id : id, v[i].source, v[i].type, v[i].subject, now, v[i].data,
		                     info->deployment ? i64(dep, info->deployment) : NULL };
		rc = pq(s, NULL, "INSERT INTO events (id, source, type, subject, time, data, deployment) VALUES ($1,$2,$3,$4,$5,$6,$7::bigint)",
		        7, p, "record event");
	}
	store_emits_free(v, em->n);
	return rc;
}

static int pg_try_lock(struct store *st, struct lock_info *me, struct lock_info *holder, bool *took_over,
                       const struct store_emits *em)
{
	struct pg_store *s = P(st);
	*took_over = false;
	int64_t key = adv_key(s, me->environment);
	char hi[24], lo[24];
	key_halves(key, hi, lo);
	pthread_mutex_lock(&s->mu);
	pthread_mutex_lock(&s->lock_mu);
	bool fresh = false; /* this call took the advisory lock (and must give it back on failure) */
	bool got = false;
	long mine = -1;
	int rc = db_ready(s);
	if (rc || (rc = run_begin(s)))
		goto out_unlock;
	/* serialise lock takers on this environment: the advisory lock and the row change together */
	const char *kp[2] = { hi, lo };
	if ((rc = pq(s, NULL, "SELECT pg_advisory_xact_lock($1::int4, $2::int4)", 2, kp, "take lock")))
		goto out_end;
	mine = adv_find_key(s, key);
	got = mine >= 0;
	if (!got) {
		if ((rc = adv_try(s, key, &got)))
			goto out_end;
		fresh = got;
	}
	bool held, advisory;
	if ((rc = find_lock(s, false, me->environment, holder, &held, &advisory)))
		goto out_end;
	if (held) {
		/* the holder took the advisory lock and it is free now: its session ended (the process
		 * died, or closed its store without unlocking): taken over at once, wherever it ran */
		bool gone = fresh && advisory;
		if (!gone && !store_lock_takeable(holder, me->acquired)) {
			rc = CRATIS_ELOCKED;
			goto out_end;
		}
		*took_over = true;
		if ((rc = close_interrupted(s, holder->deployment, holder, "its lock was taken over by the next run")))
			goto out_end;
	}
	char pid[24], acq[24], hb[24], exp[24], lease[24];
	const char *p[13] = { me->environment, me->id, i64(pid, me->pid), me->host, me->user, me->command, me->since, me->owner,
	                      i64(acq, me->acquired), i64(hb, me->heartbeat), i64(exp, me->expires), i64(lease, me->lease_ms),
	                      got ? "true" : "false" };
	rc = pq(s, NULL, "INSERT INTO locks (" LOCK_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,NULL,$13)"
	                 " ON CONFLICT (environment) DO UPDATE SET id=$2, pid=$3, host=$4, \"user\"=$5, command=$6, since=$7,"
	                 " owner=$8, acquired=$9, heartbeat=$10, expires=$11, lease_ms=$12, deployment=NULL, advisory=$13",
	        13, p, "take lock");
	if (!rc)
		rc = insert_emits(s, em, &(struct store_emit_info){ .lock = me, .previous = *took_over ? holder : NULL });
out_end:
	if (rc == CRATIS_ELOCKED)
		end_tx(s, rc);
	else
		rc = end_tx(s, rc);
	if (!rc && got) {
		if (mine >= 0) {
			snprintf(s->adv[mine].id, sizeof(s->adv[mine].id), "%s", me->id);
		} else {
			ALLOC_GROW(s->adv, s->nadv + 1, s->aadv);
			s->adv[s->nadv].key = key;
			snprintf(s->adv[s->nadv].id, sizeof(s->adv[s->nadv].id), "%s", me->id);
			s->nadv++;
		}
	} else if (rc && fresh) {
		adv_release(s, key);
	}
out_unlock:
	pthread_mutex_unlock(&s->lock_mu);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int gone_error(struct pg_store *s, const char *lock_id)
{
	return error_set(CRATIS_ENOTFOUND, "state '%s': lock '%s' is no longer held (released, or taken over by another run after its lease expired)",
	                 s->pub.path, lock_id);
}

static int pg_renew(struct store *st, const char *lock_id)
{
	struct pg_store *s = P(st);
	char now[24];
	i64(now, store_now(st));
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	const char *p[2] = { now, lock_id };
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &r, "UPDATE locks SET heartbeat = $1, expires = $1::int8 + lease_ms WHERE id = $2", 2, p, "renew lock");
	/* the data connection dropped: a renewal is safe to send again, on a new one */
	if (rc && PQstatus(s->db) == CONNECTION_BAD && !(rc = db_ready(s)))
		rc = pq(s, &r, "UPDATE locks SET heartbeat = $1, expires = $1::int8 + lease_ms WHERE id = $2", 2, p, "renew lock");
	if (!rc && !strcmp(PQcmdTuples(r), "0"))
		rc = gone_error(s, lock_id);
	PQclear(r);
	/* the row is not all of the lock: the session holding its advisory lock must still be there
	 * (terminated, its lock is free and the next run takes the lock over at once) */
	pthread_mutex_lock(&s->lock_mu);
	for (size_t i = 0; !rc && i < s->nadv; i++) {
		if (strcmp(s->adv[i].id, lock_id))
			continue;
		PGresult *ping = PQexec(s->lockdb, "SELECT 1");
		if (PQresultStatus(ping) != PGRES_TUPLES_OK) {
			char *t = trimmed(PQerrorMessage(s->lockdb));
			rc = error_set(CRATIS_EIO, "state '%s': the session holding lock '%s' ended (%s): another run may take the lock over",
			               s->pub.path, lock_id, t);
			free(t);
		}
		PQclear(ping);
		break;
	}
	pthread_mutex_unlock(&s->lock_mu);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int pg_lock_set_deployment(struct store *st, const char *lock_id, int64_t deployment)
{
	struct pg_store *s = P(st);
	char d[24];
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	const char *p[2] = { i64(d, deployment), lock_id };
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &r, "UPDATE locks SET deployment = $1 WHERE id = $2", 2, p, "record the lock's deployment");
	if (!rc && !strcmp(PQcmdTuples(r), "0"))
		rc = gone_error(s, lock_id);
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int pg_unlock(struct store *st, const char *lock_id, bool force, bool close_dead, struct lock_info *holder)
{
	struct pg_store *s = P(st);
	struct lock_info tmp;
	if (!holder)
		holder = &tmp;
	memset(holder, 0, sizeof(*holder));
	int64_t now = store_now(st);
	pthread_mutex_lock(&s->mu);
	pthread_mutex_lock(&s->lock_mu);
	int rc = db_ready(s);
	if (rc || (rc = run_begin(s)))
		goto out_unlock;
	bool found, advisory;
	if ((rc = find_lock(s, true, lock_id, holder, &found, &advisory)))
		goto out_end;
	if (!found) {
		rc = error_set(CRATIS_ENOTFOUND, "no lock with id '%s'", lock_id);
		goto out_end;
	}
	int64_t key = adv_key(s, holder->environment);
	long mine = adv_find_key(s, key);
	bool alive = store_lock_alive(holder, now);
	if (alive && advisory && mine < 0) {
		/* a holder whose session ended is gone, even on another host with lease to run */
		bool got;
		if ((rc = adv_try(s, key, &got)))
			goto out_end;
		if (got) {
			alive = false;
			adv_release(s, key);
		}
	}
	if (alive && !force) {
		rc = store_refuse_live_holder(holder);
		goto out_end;
	}
	if (close_dead && (rc = close_interrupted(s, holder->deployment, holder,
	                                         alive ? "its lock was released by `state unlock --force`"
	                                               : "its lock was released by `state unlock`")))
		goto out_end;
	const char *p[1] = { lock_id };
	rc = pq(s, NULL, "DELETE FROM locks WHERE id = $1", 1, p, "release lock");
out_end:
	rc = end_tx(s, rc);
	/* the advisory lock this handle took for lock_id goes with it (also when the row was gone) */
	for (size_t i = 0; i < s->nadv; i++)
		if (!strcmp(s->adv[i].id, lock_id) && (!rc || rc == CRATIS_ENOTFOUND)) {
			adv_release(s, s->adv[i].key);
			s->adv[i] = s->adv[--s->nadv];
			break;
		}
out_unlock:
	pthread_mutex_unlock(&s->lock_mu);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int pg_locks(struct store *st, struct lock_info **out, size_t *n)
{
	struct pg_store *s = P(st);
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &r, "SELECT " LOCK_COLS " FROM locks ORDER BY environment", 0, NULL, "list locks");
	if (!rc && PQntuples(r) > 0) {
		*n = (size_t)PQntuples(r);
		*out = xcalloc(*n, sizeof(**out));
		for (size_t i = 0; i < *n; i++)
			fill_lock(&(*out)[i], r, (int)i);
	}
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- resources, units of work ---- */

static int pg_list(struct store *st, const char *environment, const char *project, struct state_rows *out)
{
	struct pg_store *s = P(st);
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	const char *p[2] = { environment, project };
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &r, "SELECT project, environment, id, api_version, spec, outputs, deps, status, pending_spec, message, updated, deployment"
		               " FROM resources WHERE environment = $1 AND ($2::text IS NULL OR project = $2::text) ORDER BY project, id",
		        2, p, "list resources");
	int n = rc ? 0 : PQntuples(r);
	if (n > 0) {
		out->v = xcalloc((size_t)n, sizeof(*out->v));
		out->n = out->alloc = (size_t)n;
	}
	for (int i = 0; i < n; i++) {
		struct state_row *row = &out->v[i];
		row->project = valr(r, i, 0);
		row->environment = valr(r, i, 1);
		row->id = valr(r, i, 2);
		row->api_version = valr(r, i, 3);
		row->spec = val(r, i, 4);
		row->outputs = val(r, i, 5);
		row->deps = val(r, i, 6);
		row->status = valr(r, i, 7);
		row->pending_spec = val(r, i, 8);
		row->message = val(r, i, 9);
		row->updated = valr(r, i, 10);
		row->deployment = ival(r, i, 11);
	}
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* The statements of u's resource change, added to b. One case per enum store_change: a new kind
 * of change adds its statements here (and may set none_msg to require a row it changes). */
static int change_resource(struct pg_store *s, struct unit_batch *b, const struct store_unit *u, const char *now)
{
	const struct state_row *r = u->row;
	struct unit_stmt *x;
	switch (u->change) {
	case STORE_CHANGE_NONE:
		return CRATIS_OK;
	case STORE_CHANGE_PENDING:
		x = batch_add(b, "INSERT INTO resources (project, environment, id, api_version, status, pending_spec, deps, updated, deployment)"
		                 " VALUES ($1,$2,$3,$4,'pending',$5,$6,$7,$8)"
		                 " ON CONFLICT (environment, project, id) DO UPDATE SET status='pending', pending_spec=$5, updated=$7, deployment=$8");
		x->n = 8;
		x->params[0] = r->project, x->params[1] = u->environment, x->params[2] = r->id, x->params[3] = r->api_version;
		x->params[4] = r->pending_spec, x->params[5] = r->deps, x->params[6] = now;
		x->params[7] = i64(x->nums[0], u->deployment);
		return CRATIS_OK;
	case STORE_CHANGE_RECORD:
		if (!strcmp(r->status, "ready")) {
			x = batch_add(b, "INSERT INTO resources (project, environment, id, api_version, spec, outputs, deps, status, pending_spec, message, updated, deployment)"
			                 " VALUES ($1,$2,$3,$4,$5,$6,$7,'ready',NULL,NULL,$8,$9)"
			                 " ON CONFLICT (environment, project, id) DO UPDATE SET api_version=$4, spec=$5, outputs=$6, deps=$7,"
			                 " status='ready', pending_spec=NULL, message=NULL, updated=$8, deployment=$9");
			x->params[4] = r->spec, x->params[5] = r->outputs;
		} else {
			x = batch_add(b, "INSERT INTO resources (project, environment, id, api_version, deps, status, pending_spec, message, updated, deployment)"
			                 " VALUES ($1,$2,$3,$4,$7,'failed',$5,$6,$8,$9)"
			                 " ON CONFLICT (environment, project, id) DO UPDATE SET status='failed', pending_spec=$5, message=$6,"
			                 " updated=$8, deployment=$9");
			x->params[4] = r->pending_spec, x->params[5] = r->message;
		}
		x->n = 9;
		x->params[0] = r->project, x->params[1] = u->environment, x->params[2] = r->id, x->params[3] = r->api_version;
		x->params[6] = r->deps, x->params[7] = now, x->params[8] = i64(x->nums[0], u->deployment);
		return CRATIS_OK;
	case STORE_CHANGE_REMOVE:
		x = batch_add(b, "DELETE FROM resources WHERE environment=$1 AND project=$2 AND id=$3");
		x->n = 3;
		x->params[0] = u->environment, x->params[1] = r->project, x->params[2] = r->id;
		return CRATIS_OK;
	case STORE_CHANGE_RENAME:
		/* the primary key (environment, project, id) refuses a new id that is recorded */
		x = batch_add(b, "UPDATE resources SET id=$1, updated=$2, deployment=$3 WHERE environment=$4 AND project=$5 AND id=$6");
		x->n = 6;
		x->params[0] = r->id, x->params[1] = now, x->params[2] = i64(x->nums[0], u->deployment);
		x->params[3] = u->environment, x->params[4] = r->project, x->params[5] = u->old_id;
		snprintf(b->msg[0], sizeof(b->msg[0]), "%s/%s is not recorded in environment '%s'", r->project, u->old_id, u->environment);
		snprintf(b->msg[1], sizeof(b->msg[1]), "%s/%s is already recorded in environment '%s'", r->project, r->id, u->environment);
		x->none_msg = b->msg[0];
		x->exists_msg = b->msg[1];
		return CRATIS_OK;
	}
	return error_set(CRATIS_EINVAL, "state '%s': unknown change %d in a unit of work", s->pub.path, (int)u->change);
}

static void add_step(struct unit_batch *b, const struct step *stp, int64_t deployment)
{
	if (!stp)
		return;
	struct unit_stmt *x = batch_add(b, "INSERT INTO steps (deployment, resource, action, result, message, started, finished) VALUES ($1,$2,$3,$4,$5,$6,$7)");
	x->n = 7;
	x->params[0] = i64(x->nums[0], deployment), x->params[1] = stp->resource, x->params[2] = stp->action;
	x->params[3] = stp->result, x->params[4] = stp->message, x->params[5] = stp->started, x->params[6] = stp->finished;
}

/* The unit's outbox rows as one statement over a JSON array (*json, heap, freed by the caller
 * after the batch ran): any number of events in one round trip, inserted in the unit's order. */
static int add_events(struct pg_store *s, struct unit_batch *b, const struct store_unit *u, char **json)
{
	char now[32];
	cloud_event_format_time(store_now(&s->pub), now);
	json_t *a = json_array();
	for (size_t i = 0; i < u->nevents; i++) {
		const struct store_event *e = &u->events[i];
		char id[37];
		if (!e->id) {
			int rc = cloud_event_new_id(id);
			if (rc) {
				json_decref(a);
				return rc;
			}
		}
		json_t *o = json_object();
		json_object_set_new(o, "i", json_integer((json_int_t)i));
		json_object_set_new(o, "id", json_string(e->id ? e->id : id));
		json_object_set_new(o, "source", json_string(e->source));
		json_object_set_new(o, "type", json_string(e->type));
		json_object_set_new(o, "subject", e->subject ? json_string(e->subject) : json_null());
		json_object_set_new(o, "data", e->data ? json_string(e->data) : json_null());
		json_array_append_new(a, o);
	}
	*json = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!*json)
		return error_set(CRATIS_ENOMEM, "out of memory encoding a unit's events");
	struct unit_stmt *x = batch_add(b, "INSERT INTO events (id, source, type, subject, time, data, deployment)"
	                                   " SELECT x.id, x.source, x.type, x.subject, $2, x.data, $3::bigint"
	                                   " FROM json_to_recordset($1::json) AS x(i int, id text, source text, type text, subject text, data text)"
	                                   " ORDER BY x.i");
	x->n = 3;
	snprintf(b->when, sizeof(b->when), "%s", now);
	x->params[0] = *json, x->params[1] = b->when;
	x->params[2] = u->deployment ? i64(x->nums[0], u->deployment) : NULL;
	return CRATIS_OK;
}

static int pg_commit(struct store *st, const struct store_unit *u)
{
	struct pg_store *s = P(st);
	char now[32];
	now_text(s, now);
	struct unit_batch *b = xcalloc(1, sizeof(*b));
	int rc = change_resource(s, b, u, now);
	if (!rc)
		add_step(b, u->step, u->deployment);
	char *events = NULL;
	if (!rc && u->nevents)
		rc = add_events(s, b, u, &events);
	pthread_mutex_lock(&s->mu);
	if (!rc && b->n && !(rc = db_ready(s)))
		rc = batch_run(s, b, "commit a unit of work");
	pthread_mutex_unlock(&s->mu);
	free(events);
	free(b);
	return rc;
}

/* ---- deployments ---- */

static int pg_deployment_begin(struct store *st, struct deployment *d, const char *lock_id, const struct store_emits *em)
{
	struct pg_store *s = P(st);
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	const char *p[8] = { d->project, d->environment, d->command, d->user, d->host, d->started, d->inputs, lock_id };
	/* the deployment and its lock's record of it in one statement (one transaction); with events,
	 * that statement and their inserts in one explicit transaction */
	bool tx = em && em->n;
	int64_t id = 0;
	int rc = db_ready(s);
	if (!rc && tx)
		rc = run_begin(s);
	if (!rc)
		rc = pq(s, &r, "WITH d AS (INSERT INTO deployments (project, environment, command, \"user\", host, started, result, inputs)"
		               " VALUES ($1,$2,$3,$4,$5,$6,'running',$7) RETURNING id),"
		               " l AS (UPDATE locks SET deployment = (SELECT id FROM d) WHERE $8::text IS NOT NULL AND id = $8::text)"
		               " SELECT id FROM d",
		        8, p, "start deployment");
	if (!rc)
		id = ival(r, 0, 0);
	PQclear(r);
	if (tx) {
		if (!rc)
			rc = insert_emits(s, em, &(struct store_emit_info){ .deployment = id });
		rc = end_tx(s, rc);
	}
	if (!rc)
		d->id = id;
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int pg_deployment_finish(struct store *st, const struct deployment *d, const struct store_emits *em)
{
	struct pg_store *s = P(st);
	char id[24];
	pthread_mutex_lock(&s->mu);
	const char *p[4] = { d->finished, d->result, d->summary, i64(id, d->id) };
	bool tx = em && em->n; /* alone, the UPDATE is its own transaction */
	/* a deployment another run closed as interrupted (its lease was lost) stays closed */
	int rc = db_ready(s);
	if (!rc && tx)
		rc = run_begin(s);
	if (!rc)
		rc = pq(s, NULL, "UPDATE deployments SET finished=$1, result=$2, summary=$3 WHERE id=$4 AND (result IS NULL OR result = 'running')",
		        4, p, "finish deployment");
	if (tx) {
		if (!rc)
			rc = insert_emits(s, em, &(struct store_emit_info){ .deployment = d->id });
		rc = end_tx(s, rc);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int pg_history(struct store *st, const char *environment, int limit, struct deployments *out)
{
	struct pg_store *s = P(st);
	char lim[24];
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	const char *p[2] = { environment, limit > 0 ? i64(lim, limit) : NULL };
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &r, "SELECT id, project, environment, command, \"user\", host, started, finished, result, summary, inputs FROM deployments"
		               " WHERE $1::text IS NULL OR environment = $1::text ORDER BY id DESC LIMIT $2::int8",
		        2, p, "read history");
	int n = rc ? 0 : PQntuples(r);
	if (n > 0) {
		out->v = xcalloc((size_t)n, sizeof(*out->v));
		out->n = out->alloc = (size_t)n;
	}
	for (int i = 0; i < n; i++) {
		struct deployment *d = &out->v[i];
		d->id = ival(r, i, 0);
		d->project = val(r, i, 1);
		d->environment = valr(r, i, 2);
		d->command = val(r, i, 3);
		d->user = val(r, i, 4);
		d->host = val(r, i, 5);
		d->started = val(r, i, 6);
		d->finished = val(r, i, 7);
		d->result = val(r, i, 8);
		d->summary = val(r, i, 9);
		d->inputs = val(r, i, 10);
	}
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int pg_steps(struct store *st, int64_t deployment, struct steps *out)
{
	struct pg_store *s = P(st);
	char d[24];
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	const char *p[1] = { i64(d, deployment) };
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &r, "SELECT resource, action, result, message, started, finished FROM steps WHERE deployment = $1 ORDER BY seq",
		        1, p, "read steps");
	int n = rc ? 0 : PQntuples(r);
	if (n > 0) {
		out->v = xcalloc((size_t)n, sizeof(*out->v));
		out->n = out->alloc = (size_t)n;
	}
	for (int i = 0; i < n; i++) {
		struct step *x = &out->v[i];
		x->resource = valr(r, i, 0);
		x->action = val(r, i, 1);
		x->result = val(r, i, 2);
		x->message = val(r, i, 3);
		x->started = val(r, i, 4);
		x->finished = val(r, i, 5);
	}
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- artifacts ---- */

#define ARTIFACT_COLS "name, version, digest, snapshot, current, recorded, \"user\""

static void fill_artifact(struct artifact *a, const PGresult *r, int i)
{
	memset(a, 0, sizeof(*a));
	a->name = valr(r, i, 0);
	a->version = valr(r, i, 1);
	a->digest = valr(r, i, 2);
	a->snapshot = ival(r, i, 3) != 0;
	a->current = ival(r, i, 4) != 0;
	a->recorded = valr(r, i, 5);
	a->user = val(r, i, 6);
}

static int pg_artifact_record(struct store *st, const struct artifact *a, enum artifact_outcome *outcome,
                              struct artifact *existing)
{
	struct pg_store *s = P(st);
	char now[32];
	now_text(s, now);
	memset(existing, 0, sizeof(*existing));
	pthread_mutex_lock(&s->mu);
	int rc = db_ready(s);
	if (rc || (rc = run_begin(s)))
		goto out_unlock;
	/* one recorder at a time per name and version: the check and the insert go together */
	char hi[24], lo[24];
	char *akey = xasprintf("\002artifact\001%s\001%s", a->name, a->version);
	key_halves(adv_key(s, akey), hi, lo);
	free(akey);
	const char *kp[2] = { hi, lo };
	if ((rc = pq(s, NULL, "SELECT pg_advisory_xact_lock($1::int4, $2::int4)", 2, kp, "record artifact")))
		goto out_end;
	PGresult *r;
	const char *p[2] = { a->name, a->version };
	if ((rc = pq(s, &r, "SELECT " ARTIFACT_COLS " FROM artifacts WHERE name = $1 AND version = $2 AND current = 1", 2, p, "read artifact")))
		goto out_end;
	bool found = PQntuples(r) > 0;
	if (found)
		fill_artifact(existing, r, 0);
	PQclear(r);
	if (found && !strcmp(existing->digest, a->digest)) {
		*outcome = ARTIFACT_SAME;
		goto out_end;
	}
	if (found && !a->snapshot) {
		rc = error_set(CRATIS_EEXISTS, "artifact '%s' %s is immutable: digest %s was recorded at %s; refusing %s (release a new version instead)",
		               a->name, a->version, existing->digest, existing->recorded, a->digest);
		goto out_end;
	}
	if (found && (rc = pq(s, NULL, "UPDATE artifacts SET current = 0 WHERE name = $1 AND version = $2", 2, p, "supersede artifact")))
		goto out_end;
	const char *ip[6] = { a->name, a->version, a->digest, a->snapshot ? "1" : "0", now, a->user };
	rc = pq(s, NULL, "INSERT INTO artifacts (name, version, digest, snapshot, current, recorded, \"user\") VALUES ($1,$2,$3,$4,1,$5,$6)",
	        6, ip, "record artifact");
	*outcome = found ? ARTIFACT_REPLACED : ARTIFACT_NEW;
out_end:
	rc = end_tx(s, rc);
	if (rc && rc != CRATIS_EEXISTS)
		artifact_release(existing);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int pg_artifacts(struct store *st, const char *name, bool history, struct artifacts *out)
{
	struct pg_store *s = P(st);
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	const char *p[2] = { name, history ? "true" : "false" };
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &r, "SELECT " ARTIFACT_COLS " FROM artifacts WHERE ($1::text IS NULL OR name = $1::text) AND ($2::boolean OR current = 1)"
		               " ORDER BY id DESC", 2, p, "list artifacts");
	int n = rc ? 0 : PQntuples(r);
	if (n > 0) {
		out->v = xcalloc((size_t)n, sizeof(*out->v));
		out->n = out->alloc = (size_t)n;
	}
	for (int i = 0; i < n; i++)
		fill_artifact(&out->v[i], r, i);
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- releases ---- */

/* Insert or update the n releases of v; the caller holds s->mu and a transaction. */
static int pg_put_rows(struct pg_store *s, const struct release *v, size_t n, const char *now)
{
	int rc = CRATIS_OK;
	char port[24], retire[24];
	for (size_t i = 0; i < n && !rc; i++) {
		const struct release *r = &v[i];
		const char *p[12] = { r->environment, r->project, r->rollout, r->id, r->colour, i64(port, r->port), r->spec, r->status,
		                      r->stage, r->log, now, i64(retire, r->retire_at) };
		rc = pq(s, NULL, "INSERT INTO releases (environment, project, rollout, id, colour, port, spec, status, stage, log, created, updated, retire_at)"
		                 " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11,$12)"
		                 " ON CONFLICT (environment, project, rollout, id) DO UPDATE SET colour=$5, port=$6, spec=$7, status=$8,"
		                 " stage=$9, log=$10, updated=$11, retire_at=$12",
		        12, p, "record release");
	}
	return rc;
}

static int pg_release_put(struct store *st, const struct release *v, size_t n, const struct store_emits *em)
{
	struct pg_store *s = P(st);
	char now[32];
	now_text(s, now);
	pthread_mutex_lock(&s->mu);
	int rc = db_ready(s);
	if (!rc)
		rc = run_begin(s);
	if (!rc)
		rc = pg_put_rows(s, v, n, now);
	if (!rc)
		rc = insert_emits(s, em, &(struct store_emit_info){ 0 });
	rc = end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int pg_release_allocate(struct store *st, struct release *r, const struct port_range *range)
{
	struct pg_store *s = P(st);
	char now[32];
	now_text(s, now);
	pthread_mutex_lock(&s->mu);
	PGresult *res = NULL;
	int *ports = NULL;
	bool *retired = NULL;
	int rc = db_ready(s);
	if (!rc)
		rc = run_begin(s);
	/* one allocator at a time: other writers of releases wait until this transaction ends */
	if (!rc)
		rc = pq(s, NULL, "LOCK TABLE releases IN SHARE ROW EXCLUSIVE MODE", 0, NULL, "allocate a release port");
	if (!rc)
		rc = pq(s, &res, "SELECT port, bool_and(status = 'retired')::int FROM releases WHERE port > 0 AND status NOT IN ('failed','aborted')"
		                 " GROUP BY port", 0, NULL, "allocate a release port");
	int n = rc ? 0 : PQntuples(res);
	if (n > 0) {
		ports = xcalloc((size_t)n, sizeof(*ports));
		retired = xcalloc((size_t)n, sizeof(*retired));
	}
	for (int i = 0; i < n; i++) {
		ports[i] = (int)ival(res, i, 0);
		retired[i] = ival(res, i, 1) != 0;
	}
	PQclear(res);
	if (!rc) {
		int port = store_port_pick(ports, retired, (size_t)n, range);
		if (!port)
			rc = error_set(CRATIS_ENOTFOUND, "no release port left in %d-%d: %d are held by releases recorded in state '%s', the rest are in use",
			               range->lo, range->hi, n, s->pub.path);
		else {
			r->port = port;
			rc = pg_put_rows(s, r, 1, now);
		}
	}
	rc = end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	free(ports);
	free(retired);
	return rc;
}

static int pg_releases(struct store *st, const char *environment, const char *project, const char *rollout,
                       struct releases *out)
{
	struct pg_store *s = P(st);
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	const char *p[3] = { environment, project, rollout };
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &r, "SELECT environment, project, rollout, id, colour, port, spec, status, stage, log, created, updated, retire_at"
		               " FROM releases WHERE environment = $1 AND project = $2 AND rollout = $3 ORDER BY seq DESC",
		        3, p, "list releases");
	int n = rc ? 0 : PQntuples(r);
	if (n > 0) {
		out->v = xcalloc((size_t)n, sizeof(*out->v));
		out->n = out->alloc = (size_t)n;
	}
	for (int i = 0; i < n; i++) {
		struct release *x = &out->v[i];
		x->environment = valr(r, i, 0);
		x->project = valr(r, i, 1);
		x->rollout = valr(r, i, 2);
		x->id = valr(r, i, 3);
		x->colour = val(r, i, 4);
		x->port = (int)ival(r, i, 5);
		x->spec = val(r, i, 6);
		x->status = val(r, i, 7);
		x->stage = val(r, i, 8);
		x->log = val(r, i, 9);
		x->created = val(r, i, 10);
		x->updated = val(r, i, 11);
		x->retire_at = ival(r, i, 12);
	}
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- the event outbox ---- */

#define EVENT_COLS "e.seq, e.id, e.source, e.type, e.subject, e.time, e.data"

static void fill_event(struct cloud_event *e, const PGresult *r, int i)
{
	memset(e, 0, sizeof(*e));
	e->seq = ival(r, i, 0);
	e->id = valr(r, i, 1);
	e->source = valr(r, i, 2);
	e->type = valr(r, i, 3);
	e->subject = val(r, i, 4);
	e->time = valr(r, i, 5);
	e->data = val(r, i, 6);
	e->datacontenttype = e->data ? xstrdup("application/json") : NULL;
}

static int pg_events(struct store *st, const struct event_query *q, struct store_events *out)
{
	struct pg_store *s = P(st);
	char after[24];
	const char *p[3] = { i64(after, q->after_seq), q->since, q->id };
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &r, "SELECT " EVENT_COLS " FROM events e WHERE e.seq > $1::bigint AND ($2::text IS NULL OR e.time >= $2::text)"
		               " AND ($3::text IS NULL OR e.id = $3::text) ORDER BY e.seq", 3, p, "list events");
	int n = rc ? 0 : PQntuples(r);
	if (n > 0) {
		out->v = xcalloc((size_t)n, sizeof(*out->v));
		out->n = out->alloc = (size_t)n;
	}
	for (int i = 0; i < n; i++)
		fill_event(&out->v[i], r, i);
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int pg_deliveries(struct store *st, const char *sink, size_t limit, struct event_deliveries *out)
{
	struct pg_store *s = P(st);
	char lim[24];
	const char *p[2] = { sink, limit ? i64(lim, (int64_t)limit) : NULL };
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &r, "SELECT " EVENT_COLS ", d.attempts, d.first_attempt, d.next_attempt FROM events e"
		               " LEFT JOIN deliveries d ON d.sink = $1::text AND d.seq = e.seq"
		               " WHERE d.status IS NULL OR d.status = 'pending' ORDER BY e.seq LIMIT $2::bigint", 2, p,
		        "list pending deliveries");
	int n = rc ? 0 : PQntuples(r);
	if (n > 0) {
		out->v = xcalloc((size_t)n, sizeof(*out->v));
		out->n = out->alloc = (size_t)n;
	}
	for (int i = 0; i < n; i++) {
		fill_event(&out->v[i].ev, r, i);
		out->v[i].attempts = (int)ival(r, i, 7);
		out->v[i].first_attempt_ms = ival(r, i, 8);
		out->v[i].next_attempt_ms = ival(r, i, 9);
	}
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static const char *const pg_delivery_status[] = { "pending", "delivered", "dead", "skipped" };

static int pg_delivery_mark(struct store *st, const char *sink, const struct delivery_mark *m, size_t n)
{
	struct pg_store *s = P(st);
	char now[32];
	cloud_event_format_time(store_now(st), now);
	const char *last_error = NULL;
	bool delivered_any = false;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		bool delivered = m[i].status == DELIVERY_DELIVERED;
		json_array_append_new(a, json_pack("{s:I,s:s,s:i,s:I,s:I,s:s?}", "seq", (json_int_t)m[i].seq, "status",
		                                   pg_delivery_status[m[i].status], "attempts", m[i].attempts, "first",
		                                   (json_int_t)m[i].first_attempt_ms, "next", (json_int_t)m[i].next_attempt_ms,
		                                   "error", m[i].error));
		delivered_any |= delivered;
		if (!delivered && m[i].status != DELIVERY_SKIPPED && m[i].error)
			last_error = m[i].error;
	}
	char *rows = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!rows)
		return error_set(CRATIS_ENOMEM, "out of memory marking deliveries");
	struct unit_batch *b = xcalloc(1, sizeof(*b));
	/* one statement for every mark (each event at most once: store.h) */
	struct unit_stmt *x = batch_add(b, "INSERT INTO deliveries (sink, seq, status, attempts, first_attempt, next_attempt, last_error, delivered)"
	                                   " SELECT $1, x.seq, x.status, x.attempts, x.first, x.next, x.error,"
	                                   " CASE WHEN x.status = 'delivered' THEN $3 END"
	                                   " FROM json_to_recordset($2::json) AS x(seq bigint, status text, attempts int, first bigint,"
	                                   " next bigint, error text)"
	                                   " ON CONFLICT (sink, seq) DO UPDATE SET status = EXCLUDED.status, attempts = EXCLUDED.attempts,"
	                                   " first_attempt = EXCLUDED.first_attempt, next_attempt = EXCLUDED.next_attempt,"
	                                   " last_error = EXCLUDED.last_error, delivered = EXCLUDED.delivered");
	x->n = 3;
	x->params[0] = sink, x->params[1] = rows, x->params[2] = now;
	if (delivered_any || last_error) {
		x = batch_add(b, "INSERT INTO sinks (name, last_error, last_delivered) VALUES ($1, $2, $3)"
		                 " ON CONFLICT (name) DO UPDATE SET last_error = COALESCE($2, sinks.last_error),"
		                 " last_delivered = COALESCE($3, sinks.last_delivered)");
		x->n = 3;
		x->params[0] = sink, x->params[1] = last_error, x->params[2] = delivered_any ? now : NULL;
	}
	pthread_mutex_lock(&s->mu);
	int rc = db_ready(s);
	if (!rc)
		rc = batch_run(s, b, "mark delivery");
	pthread_mutex_unlock(&s->mu);
	free(b);
	free(rows);
	return rc;
}

static int pg_sink_set_disabled(struct store *st, const char *sink, bool disabled, const char *reason)
{
	struct pg_store *s = P(st);
	const char *p[3] = { sink, disabled ? "1" : "0", disabled ? reason : NULL };
	pthread_mutex_lock(&s->mu);
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, NULL, "INSERT INTO sinks (name, disabled, reason) VALUES ($1, $2::integer, $3)"
		                 " ON CONFLICT (name) DO UPDATE SET disabled = $2::integer, reason = $3", 3, p, "disable sink");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int pg_sink_status(struct store *st, const char *sink, struct store_sink_status *out)
{
	struct pg_store *s = P(st);
	const char *p[1] = { sink };
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &r, "SELECT (SELECT disabled FROM sinks WHERE name = $1::text), (SELECT reason FROM sinks WHERE name = $1::text),"
		               " (SELECT last_error FROM sinks WHERE name = $1::text), (SELECT last_delivered FROM sinks WHERE name = $1::text),"
		               " (SELECT count(*) FROM events e LEFT JOIN deliveries d ON d.sink = $1::text AND d.seq = e.seq"
		               "  WHERE d.status IS NULL OR d.status = 'pending'),"
		               " (SELECT count(*) FROM deliveries WHERE sink = $1::text AND status = 'delivered'),"
		               " (SELECT count(*) FROM deliveries WHERE sink = $1::text AND status = 'dead')", 1, p, "read sink state");
	if (!rc) {
		out->disabled = ival(r, 0, 0) != 0;
		out->reason = val(r, 0, 1);
		out->last_error = val(r, 0, 2);
		out->last_delivered = val(r, 0, 3);
		out->backlog = ival(r, 0, 4);
		out->delivered = ival(r, 0, 5);
		out->dead = ival(r, 0, 6);
	}
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int pg_redeliver(struct store *st, const char *sink, const char *event_id, const char *since, size_t *n)
{
	struct pg_store *s = P(st);
	const char *p[3] = { sink, event_id, since };
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &r, "DELETE FROM deliveries WHERE ($1::text IS NULL OR sink = $1::text) AND seq IN"
		               " (SELECT seq FROM events WHERE ($2::text IS NULL OR id = $2::text) AND ($3::text IS NULL OR time >= $3::text))",
		        3, p, "redeliver");
	if (!rc)
		*n = (size_t)strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static void pg_close(struct store *st)
{
	struct pg_store *s = P(st);
	if (s->db)
		PQfinish(s->db);
	if (s->lockdb)
		PQfinish(s->lockdb); /* ends the session: its advisory locks are free at once */
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->lock_mu);
	free(s->adv);
	free(s->conninfo);
	free(s->schema);
	free(s->schema_q);
	store_base_release(&s->pub);
	free(s);
}

/* ---- whole-store copies ---- */

/* The column that keeps table k's insertion order, or NULL. */
static const char *insertion_column(int k)
{
	switch (k) {
	case STORE_T_STEPS:
	case STORE_T_RELEASES:
		return "seq";
	case STORE_T_ARTIFACTS:
	case STORE_T_DEPLOYMENTS:
		return "id";
	default:
		return NULL;
	}
}

static int pg_dump(struct store *st, struct store_dump *out)
{
	struct pg_store *s = P(st);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, NULL, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, "begin read");
	for (int k = 0; k < STORE_T__COUNT && !rc; k++) {
		const struct store_table_def *t = store_table_def((enum store_table)k);
		struct buf b = BUF_INIT;
		buf_adds(&b, "SELECT ");
		for (size_t i = 0; i < t->ncolumns; i++)
			/* aliased: ORDER BY then names the column itself, not its text (seq 10 after 9) */
			buf_addf(&b, "%s\"%s\"::text AS c%zu", i ? ", " : "", t->columns[i], i);
		buf_addf(&b, " FROM %s ORDER BY %s%s%s", t->name, t->order ? t->order : "",
		         t->order && t->then_insertion ? ", " : "", t->then_insertion ? insertion_column(k) : "");
		PGresult *r;
		rc = pq(s, &r, b.ptr, 0, NULL, "dump");
		buf_release(&b);
		if (rc)
			break;
		const char *cells[16];
		for (int i = 0, n = PQntuples(r); i < n; i++) {
			for (size_t c = 0; c < t->ncolumns; c++)
				cells[c] = PQgetisnull(r, i, (int)c) ? NULL : PQgetvalue(r, i, (int)c);
			store_dump_add_row(&out->t[k], cells, t->ncolumns);
		}
		PQclear(r);
	}
	if (!rc) {
		PGresult *r;
		rc = pq(s, &r, "SELECT count(*) FROM locks", 0, NULL, "dump");
		if (!rc)
			out->nlocks = (size_t)ival(r, 0, 0);
		PQclear(r);
	}
	rc = end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	if (rc)
		store_dump_release(out);
	return rc;
}

/* Insert the rows of d with sql (ncolumns parameters), in pipelines of at most 256 statements
 * (each read before the next is sent, so neither side's buffers fill), inside the caller's
 * transaction. */
static int load_rows(struct pg_store *s, const char *sql, const struct store_table_dump *d, size_t ncolumns)
{
	PGconn *c = s->db;
	int rc = CRATIS_OK;
	for (size_t from = 0; from < d->nrows && !rc; from += 256) {
		size_t to = from + 256 < d->nrows ? from + 256 : d->nrows;
		if (!PQenterPipelineMode(c))
			return pg_error(s, c, NULL, "load");
		bool ok = true;
		size_t sent = 0;
		for (size_t r = from; ok && r < to; r++, sent++)
			ok = PQsendQueryParams(c, sql, (int)ncolumns, NULL, (const char *const *)d->cells + r * ncolumns, NULL, NULL, 0);
		ok = ok && PQpipelineSync(c);
		if (!ok)
			rc = pg_error(s, c, NULL, "load");
		for (size_t i = 0; ok && i < sent; i++) {
			PGresult *r;
			bool first = true;
			while ((r = PQgetResult(c))) {
				ExecStatusType st = PQresultStatus(r);
				if (first && !rc && st != PGRES_COMMAND_OK)
					rc = pg_error(s, c, r, "load");
				first = false;
				PQclear(r);
			}
		}
		if (ok) {
			PGresult *r = PQgetResult(c); /* PGRES_PIPELINE_SYNC */
			if (PQresultStatus(r) != PGRES_PIPELINE_SYNC && !rc)
				rc = pg_error(s, c, r, "load");
			PQclear(r);
		}
		if (!PQexitPipelineMode(c) && !rc)
			rc = pg_error(s, c, NULL, "load");
	}
	return rc;
}

static int pg_load(struct store *st, const struct store_dump *in)
{
	struct pg_store *s = P(st);
	pthread_mutex_lock(&s->mu);
	int rc = db_ready(s);
	if (!rc)
		rc = run_begin(s);
	/* no writer between the emptiness check and the commit */
	if (!rc)
		rc = pq(s, NULL, "LOCK TABLE resources, deployments, steps, artifacts, releases, locks, events, deliveries, sinks IN EXCLUSIVE MODE", 0, NULL,
		        "lock the target");
	if (!rc) {
		PGresult *r;
		rc = pq(s, &r, "SELECT (SELECT count(*) FROM resources) + (SELECT count(*) FROM deployments) + (SELECT count(*) FROM steps)"
		               " + (SELECT count(*) FROM artifacts) + (SELECT count(*) FROM releases) + (SELECT count(*) FROM locks)"
		               " + (SELECT count(*) FROM events) + (SELECT count(*) FROM deliveries) + (SELECT count(*) FROM sinks)"
		               " + (SELECT count(*) FROM records)",
		        0, NULL, "read the target");
		int64_t n = rc ? 0 : ival(r, 0, 0);
		PQclear(r);
		if (!rc && n)
			rc = error_set(CRATIS_EEXISTS, "state '%s' already holds cratis data (%lld rows): a copy goes into an empty store only",
			               s->pub.path, (long long)n);
	}
	for (int k = 0; k < STORE_T__COUNT && !rc; k++) {
		const struct store_table_def *t = store_table_def((enum store_table)k);
		struct buf b = BUF_INIT;
		buf_addf(&b, "INSERT INTO %s (", t->name);
		for (size_t i = 0; i < t->ncolumns; i++)
			buf_addf(&b, "%s\"%s\"", i ? ", " : "", t->columns[i]);
		buf_adds(&b, ") VALUES (");
		for (size_t i = 0; i < t->ncolumns; i++)
			buf_addf(&b, "%s$%zu", i ? ", " : "", i + 1);
		buf_adds(&b, ")");
		rc = load_rows(s, b.ptr, &in->t[k], t->ncolumns);
		buf_release(&b);
	}
	/* the next deployment gets an id past the copied ones */
	if (!rc)
		rc = pq(s, NULL, "SELECT setval(pg_get_serial_sequence('deployments', 'id'), COALESCE((SELECT max(id) FROM deployments), 1),"
		                 " (SELECT max(id) FROM deployments) IS NOT NULL)", 0, NULL, "load");
	if (!rc)
		rc = pq(s, NULL, "SELECT setval(pg_get_serial_sequence('events', 'seq'), COALESCE((SELECT max(seq) FROM events), 1),"
		                 " (SELECT max(seq) FROM events) IS NOT NULL)", 0, NULL, "load");
	rc = end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- records ---- */

/* "KIND 'SCOPE/NAME'" for messages (heap). */
static char *record_label(const char *kind, const char *scope, const char *name)
{
	return xasprintf("%s '%s%s%s'", kind, scope, *scope ? "/" : "", name);
}

/* After a conditional write touched no row: CRATIS_ENOTFOUND or CRATIS_EEXISTS saying why, from
 * the revision the store holds now (inside the caller's transaction). */
static int record_refused(struct pg_store *s, const char *kind, const char *scope, const char *name, int64_t expect)
{
	const char *p[3] = { kind, scope, name };
	PGresult *res;
	int rc = pq(s, &res, "SELECT revision FROM records WHERE kind=$1 AND scope=$2 AND name=$3", 3, p, "read record");
	if (rc)
		return rc;
	char *label = record_label(kind, scope, name);
	if (PQntuples(res) == 0)
		rc = error_set(CRATIS_ENOTFOUND, "state '%s': no %s", s->pub.path, label);
	else if (expect == 0)
		rc = error_set(CRATIS_EEXISTS, "state '%s': %s already exists (revision %lld)", s->pub.path, label, (long long)ival(res, 0, 0));
	else
		rc = error_set(CRATIS_EEXISTS, "state '%s': %s is at revision %lld, not %lld: it changed since it was read", s->pub.path, label,
		               (long long)ival(res, 0, 0), (long long)expect);
	free(label);
	PQclear(res);
	return rc;
}

static int pg_record_put(struct store *st, struct record *r, int64_t expect, const struct store_emits *em)
{
	struct pg_store *s = P(st);
	char now[32], rev[24];
	now_text(s, now);
	const char *p[6] = { r->kind, r->scope, r->name, r->body, now, i64(rev, expect) };
	/* each form is one statement, race-free at READ COMMITTED: an insert that meets a row, or an
	 * update that finds another revision, touches nothing */
	const char *sql = expect == 0 ? "INSERT INTO records (kind, scope, name, body, revision, created, updated) VALUES ($1,$2,$3,$4,1,$5,$5)"
	                                " ON CONFLICT DO NOTHING RETURNING revision, created"
	                  : expect > 0 ? "UPDATE records SET body=$4, revision=revision+1, updated=$5"
	                                 " WHERE kind=$1 AND scope=$2 AND name=$3 AND revision=$6::bigint RETURNING revision, created"
	                               : "INSERT INTO records (kind, scope, name, body, revision, created, updated) VALUES ($1,$2,$3,$4,1,$5,$5)"
	                                 " ON CONFLICT (kind, scope, name) DO UPDATE SET body=excluded.body, revision=records.revision+1,"
	                                 " updated=excluded.updated RETURNING revision, created";
	pthread_mutex_lock(&s->mu);
	PGresult *res = NULL;
	int rc = db_ready(s);
	if (!rc)
		rc = run_begin(s);
	if (!rc)
		rc = pq(s, &res, sql, expect > 0 ? 6 : 5, p, "write record");
	if (!rc && PQntuples(res) == 0)
		rc = record_refused(s, r->kind, r->scope, r->name, expect);
	int64_t revision = rc ? 0 : ival(res, 0, 0);
	char *created = rc ? NULL : valr(res, 0, 1);
	PQclear(res);
	if (!rc)
		rc = insert_emits(s, em, &(struct store_emit_info){ 0 });
	rc = end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	if (!rc) {
		r->revision = revision;
		free(r->created);
		r->created = created;
		created = NULL;
		free(r->updated);
		r->updated = xstrdup(now);
	}
	free(created);
	return rc;
}

#define RECORD_COLS "kind, scope, name, body, revision, created, updated"

static void fill_record(struct record *r, const PGresult *res, int i)
{
	memset(r, 0, sizeof(*r));
	r->kind = valr(res, i, 0);
	r->scope = valr(res, i, 1);
	r->name = valr(res, i, 2);
	r->body = valr(res, i, 3);
	r->revision = ival(res, i, 4);
	r->created = valr(res, i, 5);
	r->updated = valr(res, i, 6);
}

static int pg_record_get(struct store *st, const char *kind, const char *scope, const char *name, struct record *out)
{
	struct pg_store *s = P(st);
	memset(out, 0, sizeof(*out));
	const char *p[3] = { kind, scope, name };
	pthread_mutex_lock(&s->mu);
	PGresult *res = NULL;
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &res, "SELECT " RECORD_COLS " FROM records WHERE kind=$1 AND scope=$2 AND name=$3", 3, p, "read record");
	if (!rc && PQntuples(res) == 0) {
		char *label = record_label(kind, scope, name);
		rc = error_set(CRATIS_ENOTFOUND, "state '%s': no %s", s->pub.path, label);
		free(label);
	} else if (!rc) {
		fill_record(out, res, 0);
	}
	PQclear(res);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int pg_records(struct store *st, const char *kind, const char *scope, struct records *out)
{
	struct pg_store *s = P(st);
	const char *p[2] = { kind, scope };
	pthread_mutex_lock(&s->mu);
	PGresult *res = NULL;
	int rc = db_ready(s);
	if (!rc)
		rc = pq(s, &res, "SELECT " RECORD_COLS " FROM records WHERE kind=$1 AND ($2::text IS NULL OR scope=$2) ORDER BY scope, name", 2, p,
		        "list records");
	for (int i = 0; !rc && i < PQntuples(res); i++) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		fill_record(&out->v[out->n++], res, i);
	}
	PQclear(res);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int pg_record_delete(struct store *st, const char *kind, const char *scope, const char *name, int64_t expect,
                            const struct store_emits *em)
{
	struct pg_store *s = P(st);
	char rev[24];
	const char *p[4] = { kind, scope, name, i64(rev, expect) };
	pthread_mutex_lock(&s->mu);
	PGresult *res = NULL;
	int rc = db_ready(s);
	if (!rc)
		rc = run_begin(s);
	if (!rc)
		rc = pq(s, &res, "DELETE FROM records WHERE kind=$1 AND scope=$2 AND name=$3 AND ($4::bigint < 0 OR revision=$4::bigint) RETURNING revision", 4,
		        p, "delete record");
	if (!rc && PQntuples(res) == 0)
		rc = record_refused(s, kind, scope, name, expect);
	PQclear(res);
	if (!rc)
		rc = insert_emits(s, em, &(struct store_emit_info){ 0 });
	rc = end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static const struct store_ops postgres_ops = {
	.version = STORE_OPS_VERSION,
	.name = "postgres",
	.close = pg_close,
	.try_lock = pg_try_lock,
	.renew = pg_renew,
	.unlock = pg_unlock,
	.lock_set_deployment = pg_lock_set_deployment,
	.locks = pg_locks,
	.list = pg_list,
	.commit = pg_commit,
	.deployment_begin = pg_deployment_begin,
	.deployment_finish = pg_deployment_finish,
	.history = pg_history,
	.steps = pg_steps,
	.artifact_record = pg_artifact_record,
	.artifacts = pg_artifacts,
	.release_put = pg_release_put,
	.releases = pg_releases,
	.release_allocate = pg_release_allocate,
	.schema_version = pg_schema_version,
	.dump = pg_dump,
	.load = pg_load,
	.events = pg_events,
	.deliveries = pg_deliveries,
	.delivery_mark = pg_delivery_mark,
	.sink_set_disabled = pg_sink_set_disabled,
	.sink_status = pg_sink_status,
	.redeliver = pg_redeliver,
	.record_put = pg_record_put,
	.record_get = pg_record_get,
	.records = pg_records,
	.record_delete = pg_record_delete,
};

/* ---- URLs ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode n bytes of t (a URI component); heap. */
static char *pct_decode(const char *t, size_t n)
{
	char *o = xcalloc(n + 1, 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '%' && i + 2 < n && hexval(t[i + 1]) >= 0 && hexval(t[i + 2]) >= 0) {
			o[k++] = (char)(hexval(t[i + 1]) * 16 + hexval(t[i + 2]));
			i += 2;
		} else {
			o[k++] = t[i];
		}
	}
	return o;
}

char *postgres_url_redact(const char *url);

/* url without its password (user:PASSWORD@ and password=...): what messages name. Heap. */
char *postgres_url_redact(const char *url)
{
	struct buf b = BUF_INIT;
	const char *p = strstr(url, "://");
	if (!p) {
		buf_adds(&b, url);
		return buf_detach(&b);
	}
	p += 3;
	buf_add(&b, url, (size_t)(p - url));
	size_t auth = strcspn(p, "/?#");
	const char *at = NULL;
	for (size_t i = 0; i < auth; i++)
		if (p[i] == '@')
			at = p + i;
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		buf_add(&b, p, (size_t)((colon ? colon : at) - p));
		p = at;
	}
	const char *q = strchr(p, '?');
	if (!q) {
		buf_adds(&b, p);
		return buf_detach(&b);
	}
	buf_add(&b, p, (size_t)(q - p));
	bool first = true;
	for (const char *x = q + 1; *x;) {
		size_t n = strcspn(x, "&");
		if (!(n >= 9 && !strncmp(x, "password=", 9))) {
			buf_adds(&b, first ? "?" : "&");
			buf_add(&b, x, n);
			first = false;
		}
		x += n + (x[n] == '&');
	}
	return buf_detach(&b);
}

/* Split cratis' own parameter (schema=NAME) off url: *conninfo gets the rest for libpq, *schema
 * the decoded name or NULL. Heap. */
static void split_url(const char *url, char **conninfo, char **schema)
{
	*schema = NULL;
	const char *q = strchr(url, '?');
	if (!q) {
		*conninfo = xstrdup(url);
		return;
	}
	struct buf b = BUF_INIT;
	buf_add(&b, url, (size_t)(q - url));
	bool first = true;
	for (const char *x = q + 1; *x;) {
		size_t n = strcspn(x, "&");
		if (n >= 7 && !strncmp(x, "schema=", 7)) {
			free(*schema);
			*schema = pct_decode(x + 7, n - 7);
		} else if (n) {
			buf_adds(&b, first ? "?" : "&");
			buf_add(&b, x, n);
			first = false;
		}
		x += n + (x[n] == '&');
	}
	*conninfo = buf_detach(&b);
}

/* The first schema of the session's search_path when the connection string set one in its
 * options (-csearch_path=...), else NULL. Heap. */
static int search_path_schema(struct pg_store *s, char **out)
{
	*out = NULL;
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(s->conninfo, &err);
	if (!opts) {
		char *t = trimmed(err);
		int rc = error_set(CRATIS_EINVAL, "state URL '%s': %s", s->pub.path, t);
		free(t);
		PQfreemem(err);
		return rc;
	}
	bool set = false;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "options") && o->val && strstr(o->val, "search_path"))
			set = true;
	PQconninfoFree(opts);
	const char *env = getenv("PGOPTIONS");
	if (!set && !(env && strstr(env, "search_path")))
		return CRATIS_OK;
	PGresult *r;
	int rc = pq(s, &r, "SELECT (current_schemas(false))[1], current_setting('search_path')", 0, NULL, "read search_path");
	if (rc)
		return rc;
	if (!PQgetisnull(r, 0, 0)) {
		*out = xstrdup(PQgetvalue(r, 0, 0));
	} else {
		/* the schema does not exist yet: the first name of the setting */
		const char *v = PQgetvalue(r, 0, 1);
		size_t n = strcspn(v, ",");
		while (n && v[n - 1] == ' ')
			n--;
		while (n && *v == ' ')
			v++, n--;
		if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
			struct buf b = BUF_INIT;
			for (size_t i = 1; i + 1 < n; i++) {
				buf_add(&b, v + i, 1);
				if (v[i] == '"' && v[i + 1] == '"')
					i++;
			}
			*out = buf_detach(&b);
		} else if (n) {
			*out = xstrndup(v, n);
		}
	}
	PQclear(r);
	return CRATIS_OK;
}

int postgres_backend_open(struct store **out, const char *target, const char *url);

int postgres_backend_open(struct store **out, const char *target, const char *url)
{
	(void)target; /* libpq takes the whole URI, scheme included */
	*out = NULL;
	int rc = pq_loaded();
	if (rc)
		return rc;
	struct pg_store *s = xcalloc(1, sizeof(*s));
	char *shown = postgres_url_redact(url);
	store_base_init(&s->pub, &postgres_ops, shown);
	free(shown);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->lock_mu, NULL);
	split_url(url, &s->conninfo, &s->schema);
	rc = pg_connect(s, &s->db);
	if (rc)
		goto out_close;
	if (!s->schema && (rc = search_path_schema(s, &s->schema)))
		goto out_close;
	if (!s->schema)
		s->schema = xstrdup("cratis");
	if (!*s->schema) {
		rc = error_set(CRATIS_EINVAL, "state URL '%s' names an empty schema (expected ?schema=NAME)", s->pub.path);
		goto out_close;
	}
	char *q = PQescapeIdentifier(s->db, s->schema, strlen(s->schema));
	if (!q) {
		rc = pg_error(s, s->db, NULL, "quote the schema name");
		goto out_close;
	}
	s->schema_q = xstrdup(q);
	PQfreemem(q);
	if ((rc = set_path(s, s->db)) || (rc = migrate(s)))
		goto out_close;
	*out = &s->pub;
	return CRATIS_OK;
out_close:
	pg_close(&s->pub);
	return rc;
}
