/* Store conformance suite: one table of cases run against every backend (a list of factories:
 * sqlite, and PostgreSQL when CRATIS_TEST_PG_URL names a server, as tests/pg/with-postgres.sh
 * sets it), after Terraform's TestBackendStates / TestBackendStateLocks. Cases that need to reach
 * under the interface (damage a file, write an old schema) use a factory hook and are skipped for
 * a backend that has none. */
#include "helpers.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <jansson.h>

#include "state/store.h"
#include "util/buf.h"

struct fake_calls fake_calls;

/* ---- backend factories ---- */

struct backend {
	const char *name;
	/* A URL naming a fresh, empty store; *ctx is handed to cleanup. */
	char *(*fresh)(void **ctx);
	void (*cleanup)(void *ctx);
	/* Optional hooks (NULL: the cases that need them are skipped). */
	void (*damage)(const char *url, bool truncate);       /* corrupt the closed store's data */
	void (*set_schema_version)(const char *url, int v);   /* as a newer cratis would */
	void (*make_legacy)(const char *url, bool without_inputs); /* today's unversioned schema, with rows */
	void (*make_foreign)(const char *url, const char *kind);   /* "empty", "text", "other-sqlite" */
	void (*refuse_events)(const char *url, bool on);  /* a trigger that makes every event insert fail */
};

static char *sqlite_fresh(void **ctx)
{
	char *dir = tmp_dir();
	*ctx = dir;
	return xasprintf("sqlite:%s/state.db", dir);
}

static void sqlite_cleanup(void *ctx)
{
	tmp_cleanup(ctx);
}

static const char *sqlite_path(const char *url)
{
	return url + strlen("sqlite:");
}

static sqlite3 *raw_open(const char *url)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(sqlite_path(url), &db), SQLITE_OK);
	return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static int raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	int v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* Overwrite every page after the first (tables and their indexes) with garbage, or cut the file
 * after page 1: the schema on page 1 stays readable, so the store opens and each read must fail
 * on its own. */
static void sqlite_damage(const char *url, bool truncate)
{
	sqlite3 *db = raw_open(url);
	int page = raw_int(db, "PRAGMA page_size");
	long roots[16];
	size_t n = 0;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name IN"
	                                        " ('resources','deployments','steps','locks','artifacts','releases')", -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW && n < 16)
		roots[n++] = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	assert_int_equal(n, 6);
	raw_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	sqlite3_close(db);
	if (truncate) {
		assert_int_equal(truncate64(sqlite_path(url), page), 0);
		return;
	}
	FILE *f = fopen(sqlite_path(url), "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long pages = ftell(f) / page;
	for (size_t i = 0; i < n; i++)
		assert_true(roots[i] > 1 && roots[i] <= pages);
	char *junk = xcalloc(1, (size_t)page);
	memset(junk, 0xa5, (size_t)page);
	for (long p = 2; p <= pages; p++) {
		assert_int_equal(fseek(f, (p - 1) * page, SEEK_SET), 0);
		assert_int_equal(fwrite(junk, 1, (size_t)page, f), (size_t)page);
	}
	fclose(f);
	free(junk);
}

static void sqlite_set_schema_version(const char *url, int v)
{
	sqlite3 *db = raw_open(url);
	char *sql = xasprintf("PRAGMA user_version = %d", v);
	raw_exec(db, sql);
	free(sql);
	sqlite3_close(db);
}

/* The DDL of cratis 0.1 as it shipped (no version), and one row in each table. */
static void sqlite_make_legacy(const char *url, bool without_inputs)
{
	sqlite3 *db = raw_open(url);
	raw_exec(db, "PRAGMA journal_mode=WAL;"
	             "CREATE TABLE resources ("
	             " project TEXT NOT NULL, environment TEXT NOT NULL, id TEXT NOT NULL, api_version TEXT NOT NULL,"
	             " spec TEXT, outputs TEXT, deps TEXT, status TEXT NOT NULL, pending_spec TEXT, message TEXT,"
	             " updated TEXT NOT NULL, deployment INTEGER, PRIMARY KEY (environment, project, id));"
	             "CREATE TABLE steps (deployment INTEGER NOT NULL, resource TEXT NOT NULL, action TEXT, result TEXT, message TEXT,"
	             " started TEXT, finished TEXT);"
	             "CREATE INDEX steps_by_deployment ON steps (deployment);"
	             "CREATE TABLE locks (environment TEXT PRIMARY KEY, id TEXT NOT NULL, pid INTEGER, host TEXT, user TEXT,"
	             " command TEXT, since TEXT);"
	             "INSERT INTO resources VALUES ('p','dev','Task/a','exec/v1','{\"v\":1}','{}','[]','ready',NULL,NULL,'2025-01-01T00:00:00Z',1);"
	             "INSERT INTO steps VALUES (1,'Task/a','create','ok',NULL,'s','f');"
	             "INSERT INTO locks VALUES ('dev','0011223344556677',4242,'elsewhere.invalid','old','cratis apply','2025-01-01T00:00:00Z');");
	if (without_inputs) {
		raw_exec(db, "CREATE TABLE deployments (id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT, environment TEXT NOT NULL,"
		             " command TEXT, user TEXT, host TEXT, started TEXT, finished TEXT, result TEXT, summary TEXT);"
		             "INSERT INTO deployments VALUES (1,'p','dev','cratis apply','old','h','s',NULL,'running',NULL);");
	} else {
		raw_exec(db, "CREATE TABLE deployments (id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT, environment TEXT NOT NULL,"
		             " command TEXT, user TEXT, host TEXT, started TEXT, finished TEXT, result TEXT, summary TEXT, inputs TEXT);"
		             "CREATE TABLE artifacts (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, version TEXT NOT NULL,"
		             " digest TEXT NOT NULL, snapshot INTEGER NOT NULL, current INTEGER NOT NULL, recorded TEXT NOT NULL, user TEXT);"
		             "CREATE INDEX artifacts_by_name ON artifacts (name, version, current);"
		             "CREATE TABLE releases (seq INTEGER PRIMARY KEY AUTOINCREMENT, environment TEXT NOT NULL, project TEXT NOT NULL,"
		             " rollout TEXT NOT NULL, id TEXT NOT NULL, colour TEXT, port INTEGER, spec TEXT, status TEXT,"
		             " stage TEXT, log TEXT, created TEXT, updated TEXT, retire_at INTEGER, UNIQUE (environment, project, rollout, id));"
		             "INSERT INTO deployments VALUES (1,'p','dev','cratis apply','old','h','s',NULL,'running',NULL,'{}');");
	}
	sqlite3_close(db);
}

static void sqlite_make_foreign(const char *url, const char *kind)
{
	if (!strcmp(kind, "other-sqlite")) {
		sqlite3 *db = raw_open(url);
		raw_exec(db, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('mine');");
		sqlite3_close(db);
		return;
	}
	FILE *f = fopen(sqlite_path(url), "w");
	assert_non_null(f);
	if (!strcmp(kind, "text"))
		for (int i = 0; i < 200; i++)
			fputs("this is somebody's notes file, not a database\n", f);
	fclose(f);
}

/* ---- PostgreSQL: each fixture is a fresh schema on the server of CRATIS_TEST_PG_URL ---- */

/* The URL with ?schema=NAME (or &schema=NAME) appended. */
static char *pg_with_schema(const char *base, const char *schema)
{
	return xasprintf("%s%cschema=%s", base, strchr(base, '?') ? '&' : '?', schema);
}

static PGconn *pg_raw(void)
{
	PGconn *c = PQconnectdb(getenv("CRATIS_TEST_PG_URL"));
	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("cannot connect to %s: %s", getenv("CRATIS_TEST_PG_URL"), PQerrorMessage(c));
	return c;
}

static void pg_exec(const char *sql)
{
	PGconn *c = pg_raw();
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
	PQfinish(c);
}

static long pg_int(const char *sql)
{
	PGconn *c = pg_raw();
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	long v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

/* The schema of a fixture URL (after "schema="). */
static const char *pg_schema(const char *url)
{
	const char *p = strstr(url, "schema=");
	assert_non_null(p);
	return p + strlen("schema=");
}

static char *pg_fresh(void **ctx)
{
	static _Atomic int n;
	char *schema = xasprintf("cratis_test_%ld_%d", (long)getpid(), atomic_fetch_add(&n, 1));
	*ctx = schema;
	return pg_with_schema(getenv("CRATIS_TEST_PG_URL"), schema);
}

static void pg_cleanup(void *ctx)
{
	char *sql = xasprintf("DROP SCHEMA IF EXISTS \"%s\" CASCADE", (char *)ctx);
	pg_exec(sql);
	free(sql);
	free(ctx);
}

/* A damaged database: the tables are gone (dropped, or renamed away) while schema_migrations
 * says the schema is current; the store opens and each read must fail on its own. */
static void pg_damage(const char *url, bool truncate)
{
	static const char *const tables[] = { "resources", "deployments", "steps", "locks", "artifacts", "releases" };
	for (size_t i = 0; i < 6; i++) {
		char *sql = truncate ? xasprintf("DROP TABLE \"%s\".%s", pg_schema(url), tables[i])
		                     : xasprintf("ALTER TABLE \"%s\".%s RENAME TO %s_damaged", pg_schema(url), tables[i], tables[i]);
		pg_exec(sql);
		free(sql);
	}
}

static void pg_set_schema_version(const char *url, int v)
{
	char *sql = xasprintf("INSERT INTO \"%s\".schema_migrations VALUES (%d, 'from a newer cratis', '2030-01-01T00:00:00Z')", pg_schema(url), v);
	pg_exec(sql);
	free(sql);
}

/* Install (on) or drop a trigger that makes every insert into events fail, as a disk or
 * constraint failure in the middle of an operation's transaction would. */
static void sqlite_refuse_events(const char *url, bool on)
{
	sqlite3 *db = raw_open(url);
	raw_exec(db, on ? "CREATE TRIGGER refuse_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'events refused by the test'); END"
	                : "DROP TRIGGER refuse_events");
	sqlite3_close(db);
}

static void pg_refuse_events(const char *url, bool on)
{
	const char *sc = pg_schema(url);
	char *sql = on ? xasprintf("CREATE FUNCTION \"%s\".refuse_events() RETURNS trigger LANGUAGE plpgsql AS"
	                           " $$ BEGIN RAISE EXCEPTION 'events refused by the test'; END $$;"
	                           " CREATE TRIGGER refuse_events BEFORE INSERT ON \"%s\".events FOR EACH ROW"
	                           " EXECUTE FUNCTION \"%s\".refuse_events()", sc, sc, sc)
	               : xasprintf("DROP TRIGGER refuse_events ON \"%s\".events; DROP FUNCTION \"%s\".refuse_events()", sc, sc);
	pg_exec(sql);
	free(sql);
}

static const struct backend all_backends[] = {
	{ "sqlite", sqlite_fresh, sqlite_cleanup, sqlite_damage, sqlite_set_schema_version, sqlite_make_legacy, sqlite_make_foreign,
	  sqlite_refuse_events },
	{ "postgres", pg_fresh, pg_cleanup, pg_damage, pg_set_schema_version, NULL, NULL, pg_refuse_events },
};

/* ---- fixture ---- */

struct fixture {
	const struct backend *b;
	void *ctx;
	char *url;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->b = *state;
	f->url = f->b->fresh(&f->ctx);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	f->b->cleanup(f->ctx);
	free(f->url);
	free(f);
	return 0;
}

static struct store *open_ok(struct fixture *f)
{
	struct store *s;
	int rc = store_open(&s, f->url);
	if (rc)
		fail_msg("store_open(%s): %s", f->url, cratis_error_last()->message);
	return s;
}

/* An injectable clock for lease tests: time moves only when the test says so. */
struct fake_clock {
	_Atomic int64_t now;
	_Atomic int calls;
};

static int64_t fake_now(void *payload)
{
	struct fake_clock *c = payload;
	atomic_fetch_add(&c->calls, 1);
	return atomic_load(&c->now);
}

static void fill(struct lock_info *l, const char *env, const char *host, long pid, const char *cmd)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->environment, sizeof(l->environment), "%s", env);
	snprintf(l->host, sizeof(l->host), "%s", host);
	snprintf(l->user, sizeof(l->user), "tester");
	snprintf(l->command, sizeof(l->command), "%s", cmd);
	l->pid = pid;
}

static const char *deployment_result(struct store *s, int64_t id, char **finished)
{
	static char result[32];
	struct deployments h;
	assert_int_equal(store_history(s, NULL, 0, &h), 0);
	result[0] = 0;
	for (size_t i = 0; i < h.n; i++)
		if (h.v[i].id == id) {
			snprintf(result, sizeof(result), "%s", h.v[i].result ? h.v[i].result : "");
			if (finished)
				*finished = h.v[i].finished ? xstrdup(h.v[i].finished) : NULL;
		}
	store_deployments_release(&h);
	return result;
}

/* ---- states ---- */

static void test_store_pending_keeps_recorded_spec(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	struct state_row r = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .spec = "{\"v\":1}",
	                       .outputs = "{\"o\":1}", .deps = "[]", .status = "ready" };
	struct step st = { .resource = "Task/a", .action = "create", .result = "ok" };
	assert_int_equal(store_record(s, "dev", &r, &st, 1), 0);
	struct state_row pend = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .pending_spec = "{\"v\":2}", .deps = "[]" };
	assert_int_equal(store_mark_pending(s, "dev", &pend), 0);
	/* a run killed here: the row is pending with the old spec and the new one beside it */
	store_close(s);
	s = open_ok(fx);
	struct state_rows rows;
	assert_int_equal(store_list(s, "dev", NULL, &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_string_equal(rows.v[0].status, "pending");
	assert_string_equal(rows.v[0].spec, "{\"v\":1}");
	assert_string_equal(rows.v[0].pending_spec, "{\"v\":2}");
	assert_string_equal(rows.v[0].outputs, "{\"o\":1}");
	store_rows_release(&rows);
	/* a failure keeps the recorded spec and the message */
	struct state_row f = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .pending_spec = "{\"v\":2}",
	                       .deps = "[]", .status = "failed", .message = "boom" };
	assert_int_equal(store_record(s, "dev", &f, &st, 2), 0);
	assert_int_equal(store_list(s, "dev", NULL, &rows), 0);
	assert_string_equal(rows.v[0].status, "failed");
	assert_string_equal(rows.v[0].spec, "{\"v\":1}");
	assert_string_equal(rows.v[0].message, "boom");
	store_rows_release(&rows);
	/* other environments are separate */
	assert_int_equal(store_list(s, "prod", NULL, &rows), 0);
	assert_int_equal(rows.n, 0);
	store_rows_release(&rows);
	assert_int_equal(store_remove(s, "dev", "p", "Task/a", &st, 3), 0);
	assert_int_equal(store_list(s, "dev", NULL, &rows), 0);
	assert_int_equal(rows.n, 0);
	store_rows_release(&rows);
	store_close(s);
}

/* STORE_CHANGE_RENAME (`state mv`): the row keeps spec, outputs and status under its new id, with
 * its step; an id not recorded is CRATIS_ENOTFOUND and a taken one CRATIS_EEXISTS, nothing written. */
static void test_store_rename(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	const char *ids[] = { "Task/a", "Task/b" };
	for (size_t i = 0; i < 2; i++) {
		struct state_row r = { .project = "p", .id = (char *)ids[i], .api_version = "exec/v1", .spec = "{\"v\":1}",
		                       .outputs = "{\"o\":1}", .deps = "[]", .status = "ready" };
		assert_int_equal(store_record(s, "dev", &r, NULL, 1), 0);
	}
	struct deployment d = { .project = "p", .environment = "dev", .command = "cratis state mv", .started = "2026-01-01T00:00:00Z" };
	assert_int_equal(store_deployment_begin(s, &d), 0);
	struct step st = { .resource = "Task/a", .action = "move", .result = "ok", .message = "moved to Task/c" };
	assert_int_equal(store_rename(s, "dev", "p", "Task/a", "Task/c", &st, d.id), 0);
	assert_int_equal(store_rename(s, "dev", "p", "Task/a", "Task/d", &st, d.id), CRATIS_ENOTFOUND);
	assert_int_equal(store_rename(s, "dev", "p", "Task/c", "Task/b", &st, d.id), CRATIS_EEXISTS);
	assert_int_equal(store_rename(s, "prod", "p", "Task/c", "Task/e", &st, d.id), CRATIS_ENOTFOUND);
	struct store_unit bad = { .environment = "dev", .change = STORE_CHANGE_RENAME,
	                          .row = &(struct state_row){ .project = "p", .id = "Task/x" } };
	assert_int_equal(store_commit(s, &bad), CRATIS_EINVAL);
	struct state_rows rows;
	assert_int_equal(store_list(s, "dev", NULL, &rows), 0);
	assert_int_equal(rows.n, 2);
	assert_string_equal(rows.v[0].id, "Task/b");
	assert_string_equal(rows.v[1].id, "Task/c");
	assert_string_equal(rows.v[1].spec, "{\"v\":1}");
	assert_string_equal(rows.v[1].outputs, "{\"o\":1}");
	assert_string_equal(rows.v[1].status, "ready");
	assert_int_equal(rows.v[1].deployment, d.id);
	store_rows_release(&rows);
	struct steps steps;
	assert_int_equal(store_steps(s, d.id, &steps), 0);
	assert_int_equal(steps.n, 1); /* the refused renames wrote no step */
	assert_string_equal(steps.v[0].action, "move");
	store_steps_release(&steps);
	store_close(s);
}

static void test_store_projects_share_one_state(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	const char *projects[] = { "alpha", "beta" };
	for (size_t i = 0; i < 2; i++) {
		struct state_row r = { .project = (char *)projects[i], .id = "File/page", .api_version = "file/v1", .spec = "{}",
		                       .outputs = "{}", .deps = "[]", .status = "ready" };
		assert_int_equal(store_record(s, "dev", &r, NULL, 1), 0);
	}
	struct state_rows rows;
	assert_int_equal(store_list(s, "dev", "alpha", &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_string_equal(rows.v[0].project, "alpha");
	store_rows_release(&rows);
	/* removing beta's resource leaves alpha's */
	assert_int_equal(store_remove(s, "dev", "beta", "File/page", NULL, 2), 0);
	assert_int_equal(store_list(s, "dev", "beta", &rows), 0);
	assert_int_equal(rows.n, 0);
	store_rows_release(&rows);
	assert_int_equal(store_list(s, "dev", NULL, &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_non_null(store_rows_find(&rows, "alpha", "File/page"));
	assert_null(store_rows_find(&rows, "beta", "File/page"));
	store_rows_release(&rows);
	store_close(s);
}

static void test_store_unit_of_work(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	struct state_row r = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .spec = "{}", .outputs = "{}",
	                       .deps = "[]", .status = "ready" };
	struct step st = { .resource = "Task/a", .action = "create", .result = "ok", .started = "s", .finished = "f" };
	struct store_unit u = { .environment = "dev", .change = STORE_CHANGE_RECORD, .row = &r, .step = &st, .deployment = 7 };
	assert_int_equal(store_commit(s, &u), 0);
	struct steps steps;
	assert_int_equal(store_steps(s, 7, &steps), 0);
	assert_int_equal(steps.n, 1);
	store_steps_release(&steps);
	/* a failing unit (an event without its source) writes neither the change nor the step */
	struct store_event ev = { .type = "dev.cratis.resource.changed", .subject = "Task/a", .data = "{}" };
	struct state_row gone = { .project = "p", .id = "Task/a" };
	struct store_unit bad = { .environment = "dev", .change = STORE_CHANGE_REMOVE, .row = &gone, .step = &st,
	                          .deployment = 7, .events = &ev, .nevents = 1 };
	assert_int_equal(store_commit(s, &bad), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "needs a type and a source");
	struct state_rows rows;
	assert_int_equal(store_list(s, "dev", NULL, &rows), 0);
	assert_int_equal(rows.n, 1);
	store_rows_release(&rows);
	assert_int_equal(store_steps(s, 7, &steps), 0);
	assert_int_equal(steps.n, 1);
	store_steps_release(&steps);
	/* a unit without a resource */
	struct store_unit none = { .environment = "dev", .change = STORE_CHANGE_RECORD, .step = &st, .deployment = 7 };
	assert_int_equal(store_commit(s, &none), CRATIS_EINVAL);
	store_close(s);
}

static int64_t fixed_clock(void *payload)
{
	return *(int64_t *)payload;
}

/* The outbox: events written with their unit (never without it), listed in seq order with
 * filters; per-sink deliveries pending until marked; dead, skipped, redeliver, disable. */
static void test_store_outbox(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	int64_t now = 1796126400123; /* 2026-12-01T12:00:00.123Z */
	store_set_clock(s, fixed_clock, &now);
	struct state_row r = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .spec = "{}", .outputs = "{}",
	                       .deps = "[]", .status = "ready" };
	struct step st = { .resource = "Task/a", .action = "create", .result = "ok", .started = "s", .finished = "f" };
	struct store_event evs[2] = {
		{ .type = "dev.cratis.resource.changed", .subject = "Task/a", .data = "{\"action\":\"create\"}", .source = "/projects/p/environments/dev" },
		{ .type = "example.plugin.thing", .subject = "Task/a", .source = "/projects/p/environments/dev", .id = "fixed-id-1" },
	};
	struct store_unit u = { .environment = "dev", .change = STORE_CHANGE_RECORD, .row = &r, .step = &st, .deployment = 7,
	                        .events = evs, .nevents = 2 };
	assert_int_equal(store_commit(s, &u), 0);
	/* a unit the database refuses (a step without its resource) leaves no event */
	struct step badst = { .resource = NULL, .action = "create", .result = "ok" };
	struct store_unit bad = u;
	bad.step = &badst;
	assert_int_equal(store_commit(s, &bad), CRATIS_EIO);
	struct store_event lone = { .type = "dev.cratis.lock.taken", .source = "/projects/p/environments/dev", .data = "{}" };
	now += 1000;
	assert_int_equal(store_emit(s, "dev", 0, &lone, 1), 0);
	struct event_query all = { 0 };
	struct store_events ev;
	assert_int_equal(store_events(s, &all, &ev), 0);
	assert_int_equal(ev.n, 3);
	assert_true(ev.v[0].seq < ev.v[1].seq && ev.v[1].seq < ev.v[2].seq);
	assert_string_equal(ev.v[0].type, "dev.cratis.resource.changed");
	assert_string_equal(ev.v[0].time, "2026-12-01T12:00:00.123Z");
	assert_int_equal(strlen(ev.v[0].id), 36);
	assert_int_equal(ev.v[0].id[14], '4'); /* UUID version 4 */
	assert_string_equal(ev.v[0].data, "{\"action\":\"create\"}");
	assert_string_equal(ev.v[1].id, "fixed-id-1");
	assert_null(ev.v[1].data);
	assert_null(ev.v[2].subject);
	int64_t first = ev.v[0].seq, second = ev.v[1].seq, third = ev.v[2].seq;
	store_events_release(&ev);
	struct event_query q = { .type = "dev.cratis.*" };
	assert_int_equal(store_events(s, &q, &ev), 0);
	assert_int_equal(ev.n, 2);
	store_events_release(&ev);
	q = (struct event_query){ .after_seq = first, .limit = 1 };
	assert_int_equal(store_events(s, &q, &ev), 0);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].seq, second);
	store_events_release(&ev);
	q = (struct event_query){ .since = "2026-12-01T12:00:01" };
	assert_int_equal(store_events(s, &q, &ev), 0);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].seq, third);
	store_events_release(&ev);
	/* deliveries: everything pending for a new sink, in order */
	struct event_deliveries d;
	assert_int_equal(store_deliveries(s, "log", 0, &d), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.v[0].attempts, 0);
	store_deliveries_release(&d);
	struct delivery_mark ok = { .status = DELIVERY_DELIVERED, .attempts = 1, .first_attempt_ms = now };
	struct delivery_mark retry = { .status = DELIVERY_PENDING, .attempts = 1, .first_attempt_ms = now, .next_attempt_ms = now + 500,
	                               .error = "HTTP 503" };
	struct delivery_mark dead = { .status = DELIVERY_DEAD, .attempts = 3, .error = "dead letter after 3 attempts" };
	assert_int_equal(store_delivery_mark(s, "log", first, &ok), 0);
	assert_int_equal(store_delivery_mark(s, "log", second, &retry), 0);
	assert_int_equal(store_deliveries(s, "log", 0, &d), 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].ev.seq, second);
	assert_int_equal(d.v[0].attempts, 1);
	assert_true(d.v[0].next_attempt_ms == now + 500);
	store_deliveries_release(&d);
	assert_int_equal(store_deliveries(s, "other", 1, &d), 0); /* per sink, and limited */
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].ev.seq, first);
	store_deliveries_release(&d);
	assert_int_equal(store_delivery_mark(s, "log", second, &dead), 0);
	struct store_sink_status ss;
	assert_int_equal(store_sink_status(s, "log", &ss), 0);
	assert_int_equal(ss.backlog, 1);
	assert_int_equal(ss.delivered, 1);
	assert_int_equal(ss.dead, 1);
	assert_string_equal(ss.last_error, "dead letter after 3 attempts");
	assert_non_null(ss.last_delivered);
	assert_false(ss.disabled);
	store_sink_status_release(&ss);
	assert_int_equal(store_sink_set_disabled(s, "log", true, "410 Gone from http://x/"), 0);
	assert_int_equal(store_sink_status(s, "log", &ss), 0);
	assert_true(ss.disabled);
	assert_string_equal(ss.reason, "410 Gone from http://x/");
	store_sink_status_release(&ss);
	assert_int_equal(store_sink_set_disabled(s, "log", false, NULL), 0);
	assert_int_equal(store_sink_status(s, "log", &ss), 0);
	assert_false(ss.disabled);
	store_sink_status_release(&ss);
	/* redeliver: the dead one by id, then everything of the sink since a time */
	assert_int_equal(store_events(s, &all, &ev), 0);
	size_t n = 0;
	assert_int_equal(store_redeliver(s, "log", ev.v[1].id, NULL, &n), 0);
	assert_int_equal(n, 1);
	store_events_release(&ev);
	assert_int_equal(store_deliveries(s, "log", 0, &d), 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.v[0].attempts, 0);
	store_deliveries_release(&d);
	assert_int_equal(store_redeliver(s, "log", NULL, "2026-01-01T00:00:00Z", &n), 0);
	assert_int_equal(n, 1); /* the delivered first one */
	assert_int_equal(store_redeliver(s, NULL, NULL, NULL, &n), CRATIS_EINVAL);
	/* marks in one batch */
	struct delivery_mark batch[2] = {
		{ .seq = first, .status = DELIVERY_DELIVERED, .attempts = 1 },
		{ .seq = third, .status = DELIVERY_SKIPPED },
	};
	assert_int_equal(store_delivery_marks(s, "batch", batch, 2), 0);
	assert_int_equal(store_deliveries(s, "batch", 0, &d), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].ev.seq, second);
	store_deliveries_release(&d);
	assert_int_equal(store_sink_status(s, "batch", &ss), 0);
	assert_int_equal(ss.delivered, 1);
	assert_int_equal(ss.backlog, 1);
	assert_non_null(ss.last_delivered);
	assert_null(ss.last_error);
	store_sink_status_release(&ss);
	store_close(s);
}

/* A unit whose step the database refuses (a step without its resource: NOT NULL) writes nothing,
 * and the store goes on working. */
static void test_store_unit_is_all_or_nothing(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	struct state_row r = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .spec = "{}", .outputs = "{}",
	                       .deps = "[]", .status = "ready" };
	struct step bad = { .resource = NULL, .action = "create", .result = "ok" };
	assert_int_equal(store_record(s, "dev", &r, &bad, 7), CRATIS_EIO);
	assert_contains(cratis_error_last()->message, "state '");
	struct state_rows rows;
	assert_int_equal(store_list(s, "dev", NULL, &rows), 0);
	assert_int_equal(rows.n, 0);
	store_rows_release(&rows);
	struct steps steps;
	assert_int_equal(store_steps(s, 7, &steps), 0);
	assert_int_equal(steps.n, 0);
	store_steps_release(&steps);
	struct step good = { .resource = "Task/a", .action = "create", .result = "ok" };
	assert_int_equal(store_record(s, "dev", &r, &good, 7), 0);
	assert_int_equal(store_list(s, "dev", NULL, &rows), 0);
	assert_int_equal(rows.n, 1);
	store_rows_release(&rows);
	store_close(s);
}

/* data_for of the outbox tests: the deployment id, or the lock and the holder taken over, as the
 * transaction knows them. */
static char *emit_info_data(const struct store_emit_info *info, size_t i, void *payload)
{
	(*(int *)payload)++;
	if (info->lock)
		return xasprintf("{\"i\":%zu,\"lock\":\"%s\",\"previous\":\"%s\"}", i, info->lock->id,
		                 info->previous ? info->previous->id : "");
	return xasprintf("{\"i\":%zu,\"deployment\":%lld}", i, (long long)info->deployment);
}

static size_t count_events(struct store *s, const char *type)
{
	struct event_query q = { .type = type };
	struct store_events ev;
	assert_int_equal(store_events(s, &q, &ev), 0);
	size_t n = ev.n;
	store_events_release(&ev);
	return n;
}

/* The only event of type (asserted to be one), heap-owned by the caller (cloud_event_free). */
static struct cloud_event one_event(struct store *s, const char *type)
{
	struct event_query q = { .type = type };
	struct store_events ev;
	assert_int_equal(store_events(s, &q, &ev), 0);
	assert_int_equal(ev.n, 1);
	struct cloud_event e = ev.v[0];
	free(ev.v);
	return e;
}

/* The outbox guarantee for what is not a unit of work (issue 13): a deployment's begin and end, a
 * lock taken and a release switch are each one transaction with their events. An event insert
 * that fails (a trigger refuses it) leaves nothing of the change; a change that commits always
 * has its event, whose data can name what only the transaction knows (the deployment id, the
 * holder taken over). */
static void test_store_changes_commit_with_their_events(void **state)
{
	struct fixture *fx = *state;
	if (!fx->b->refuse_events)
		skip();
	struct fake_clock clk = { 1767225600000, 0 };
	struct store *s = open_ok(fx);
	store_set_clock(s, fake_now, &clk);
	int calls = 0;
	struct store_event started = { .type = "dev.cratis.deployment.started", .source = "/projects/p/environments/prod" };
	struct store_emits em_started = { .events = &started, .n = 1, .data_for = emit_info_data, .payload = &calls };
	struct store_event finished = { .type = "dev.cratis.deployment.finished", .source = "/projects/p/environments/prod",
	                                .data = "{\"result\":\"succeeded\"}" };
	struct store_emits em_finished = { .events = &finished, .n = 1 };
	struct store_event taken = { .type = "dev.cratis.lock.taken", .source = "/projects/p/environments/prod" };
	struct store_emits em_taken = { .events = &taken, .n = 1, .data_for = emit_info_data, .payload = &calls };
	struct store_event promoted = { .type = "dev.cratis.rollout.promoted", .subject = "Rollout/web",
	                                .source = "/projects/p/environments/prod", .data = "{\"release\":\"r2\"}" };
	struct store_emits em_promoted = { .events = &promoted, .n = 1 };
	struct release rel[2] = {
		{ .environment = "prod", .project = "p", .rollout = "web", .id = "r1", .colour = "blue", .port = 4001,
		  .spec = "{}", .status = "previous", .stage = "afterPostProd", .log = "[]" },
		{ .environment = "prod", .project = "p", .rollout = "web", .id = "r2", .colour = "green", .port = 4002,
		  .spec = "{}", .status = "active", .stage = "afterPostProd", .log = "[]" },
	};
	/* an event without a type is refused before anything is written */
	struct store_event typeless = { .source = "/projects/p/environments/prod" };
	struct deployment d = { .project = "p", .environment = "prod", .command = "cratis apply", .started = "s" };
	assert_int_equal(store_deployment_begin_ev(s, &d, &(struct store_emits){ .events = &typeless, .n = 1 }), CRATIS_EINVAL);

	/* refused events: no deployment, no lock, no release switch, no event */
	fx->b->refuse_events(fx->url, true);
	assert_int_equal(store_deployment_begin_ev(s, &d, &em_started), CRATIS_EIO);
	assert_contains(cratis_error_last()->message, "events refused by the test");
	assert_int_equal(d.id, 0);
	struct deployments h;
	assert_int_equal(store_history(s, NULL, 0, &h), 0);
	assert_int_equal(h.n, 0);
	store_deployments_release(&h);
	struct lock_info me, holder;
	fill(&me, "prod", "elsewhere.invalid", 1, "cratis apply (remote)");
	me.lease_ms = 1000;
	assert_int_equal(store_lock_ev(s, &me, 0, &holder, &em_taken), CRATIS_EIO);
	struct lock_info *locks;
	size_t nlocks;
	assert_int_equal(store_locks(s, &locks, &nlocks), 0);
	assert_int_equal(nlocks, 0);
	free(locks);
	assert_int_equal(store_releases_put_ev(s, rel, 2, &em_promoted), CRATIS_EIO);
	struct releases rs;
	assert_int_equal(store_releases(s, "prod", "p", "web", &rs), 0);
	assert_int_equal(rs.n, 0);
	store_releases_release(&rs);
	assert_int_equal(count_events(s, NULL), 0);

	/* accepted: each change and its event, the data made in the transaction */
	fx->b->refuse_events(fx->url, false);
	assert_int_equal(store_lock_ev(s, &me, 0, &holder, &em_taken), 0);
	assert_int_equal(store_deployment_begin_ev(s, &d, &em_started), 0);
	assert_true(d.id > 0);
	struct cloud_event e = one_event(s, "dev.cratis.deployment.started");
	char *want = xasprintf("{\"i\":0,\"deployment\":%lld}", (long long)d.id);
	assert_string_equal(e.data, want);
	free(want);
	cloud_event_free(&e);
	e = one_event(s, "dev.cratis.lock.taken");
	want = xasprintf("{\"i\":0,\"lock\":\"%s\",\"previous\":\"\"}", me.id);
	assert_string_equal(e.data, want);
	free(want);
	cloud_event_free(&e);
	assert_true(calls >= 2);

	/* a finish whose event is refused leaves the deployment running; then it finishes with it */
	fx->b->refuse_events(fx->url, true);
	d.finished = "f", d.result = "succeeded", d.summary = "1 succeeded";
	assert_int_equal(store_deployment_finish_ev(s, &d, &em_finished), CRATIS_EIO);
	assert_string_equal(deployment_result(s, d.id, NULL), "running");
	assert_int_equal(count_events(s, "dev.cratis.deployment.finished"), 0);
	fx->b->refuse_events(fx->url, false);
	assert_int_equal(store_deployment_finish_ev(s, &d, &em_finished), 0);
	assert_string_equal(deployment_result(s, d.id, NULL), "succeeded");
	assert_int_equal(count_events(s, "dev.cratis.deployment.finished"), 1);
	assert_int_equal(store_releases_put_ev(s, rel, 2, &em_promoted), 0);
	assert_int_equal(store_releases(s, "prod", "p", "web", &rs), 0);
	assert_int_equal(rs.n, 2);
	store_releases_release(&rs);
	e = one_event(s, "dev.cratis.rollout.promoted");
	assert_string_equal(e.subject, "Rollout/web");
	assert_string_equal(e.data, "{\"release\":\"r2\"}");
	cloud_event_free(&e);

	/* a takeover: the event names the holder taken over, and a refused one takes nothing over */
	struct lock_info next;
	fill(&next, "prod", "elsewhere.invalid", 2, "cratis apply (next)");
	atomic_store(&clk.now, clk.now + 5000); /* me's lease (1 s) has expired */
	fx->b->refuse_events(fx->url, true);
	assert_int_equal(store_lock_ev(s, &next, 0, &holder, &em_taken), CRATIS_EIO);
	assert_string_equal(deployment_result(s, d.id, NULL), "succeeded");
	assert_int_equal(store_locks(s, &locks, &nlocks), 0);
	assert_int_equal(nlocks, 1);
	assert_string_equal(locks[0].id, me.id);
	free(locks);
	fx->b->refuse_events(fx->url, false);
	assert_int_equal(store_lock_ev(s, &next, 0, &holder, &em_taken), 0);
	assert_string_equal(holder.id, me.id);
	struct event_query q = { .type = "dev.cratis.lock.taken" };
	struct store_events ev;
	assert_int_equal(store_events(s, &q, &ev), 0);
	assert_int_equal(ev.n, 2);
	want = xasprintf("{\"i\":0,\"lock\":\"%s\",\"previous\":\"%s\"}", next.id, me.id);
	assert_string_equal(ev.v[1].data, want);
	free(want);
	store_events_release(&ev);
	assert_int_equal(store_unlock(s, next.id), 0);
	store_close(s);
}

static void test_store_history_and_steps(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	struct deployment d = { .project = "p", .environment = "dev", .command = "cratis apply", .user = "u", .host = "h",
	                        .started = "2026-01-01T00:00:00Z" };
	assert_int_equal(store_deployment_begin(s, &d), 0);
	assert_true(d.id > 0);
	struct state_row r = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .spec = "{}", .outputs = "{}",
	                       .deps = "[]", .status = "ready" };
	struct step st = { .resource = "Task/a", .action = "create", .result = "ok", .started = "s", .finished = "f" };
	assert_int_equal(store_record(s, "dev", &r, &st, d.id), 0);
	d.finished = "2026-01-01T00:00:01Z";
	d.result = "succeeded";
	d.summary = "1 succeeded";
	assert_int_equal(store_deployment_finish(s, &d), 0);
	struct deployments h;
	assert_int_equal(store_history(s, "dev", 0, &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.v[0].result, "succeeded");
	assert_string_equal(h.v[0].command, "cratis apply");
	store_deployments_release(&h);
	assert_int_equal(store_history(s, "prod", 0, &h), 0);
	assert_int_equal(h.n, 0);
	store_deployments_release(&h);
	struct steps steps;
	assert_int_equal(store_steps(s, d.id, &steps), 0);
	assert_int_equal(steps.n, 1);
	assert_string_equal(steps.v[0].resource, "Task/a");
	assert_string_equal(steps.v[0].result, "ok");
	store_steps_release(&steps);
	store_close(s);
}

static void test_store_artifacts_and_releases(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	struct artifact a = { .name = "web", .version = "1.0.0", .digest = "sha256:aa", .user = "u" }, old;
	enum artifact_outcome o;
	assert_int_equal(store_artifact_record(s, &a, &o, &old), 0);
	assert_int_equal(o, ARTIFACT_NEW);
	artifact_release(&old);
	a.digest = "sha256:bb";
	assert_int_equal(store_artifact_record(s, &a, &o, &old), CRATIS_EEXISTS);
	assert_string_equal(old.digest, "sha256:aa");
	artifact_release(&old);
	struct artifacts list;
	assert_int_equal(store_artifacts(s, "web", false, &list), 0);
	assert_int_equal(list.n, 1);
	store_artifacts_release(&list);
	struct release r = { .project = "p", .environment = "dev", .rollout = "web", .id = "r1", .colour = "blue", .port = 8000,
	                     .spec = "{}", .status = "active", .stage = "afterPostProd", .log = "[]" };
	assert_int_equal(store_release_put(s, &r), 0);
	struct releases rels;
	assert_int_equal(store_releases(s, "dev", "p", "web", &rels), 0);
	assert_int_equal(rels.n, 1);
	assert_string_equal(rels.v[0].colour, "blue");
	store_releases_release(&rels);
	store_close(s);
}

/* A Rollout's children are its running releases and its Route, projected from the release rows:
 * they appear and go in the transaction that writes the releases, with owner and deps, sorted
 * among the other rows; an experiment's variant is owned by the experiment, with its weight */
static void test_store_children_of_a_rollout(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	struct state_row ro = { .project = "p", .id = "Rollout/web", .api_version = "cratis/v1",
	                        .spec = "{\"activePort\":8280,\"previewPort\":8281}", .outputs = "{}", .deps = "[]", .status = "ready" };
	struct state_row task = { .project = "p", .id = "Task/z", .api_version = "exec/v1", .spec = "{}", .outputs = "{}",
	                          .deps = "[]", .status = "ready" };
	assert_int_equal(store_record(s, "dev", &ro, NULL, 1), 0);
	assert_int_equal(store_record(s, "dev", &task, NULL, 1), 0);
	struct state_rows rows;
	assert_int_equal(store_list(s, "dev", NULL, &rows), 0);
	assert_int_equal(rows.n, 2); /* no release: no child */
	store_rows_release(&rows);
	struct release v[3] = {
		{ .project = "p", .environment = "dev", .rollout = "web", .id = "r1-aa", .colour = "blue", .port = 10000,
		  .spec = "{\"command\":[\"a\"]}", .status = "previous", .log = "[]" },
		{ .project = "p", .environment = "dev", .rollout = "web", .id = "r2-bb", .colour = "green", .port = 10001,
		  .spec = "{\"command\":[\"b\"]}", .status = "active", .log = "[]" },
		{ .project = "p", .environment = "dev", .rollout = "web", .id = "r0-cc", .colour = "blue", .port = 10002,
		  .spec = "{}", .status = "retired", .log = "[]" },
	};
	assert_int_equal(store_releases_put(s, v, 3), 0);
	assert_int_equal(store_list(s, "dev", NULL, &rows), 0);
	/* Rollout/web, Route/web, Service/web.r1-aa, Service/web.r2-bb, Task/z: sorted, found */
	assert_int_equal(rows.n, 5);
	for (size_t i = 1; i < rows.n; i++)
		assert_true(strcmp(rows.v[i - 1].id, rows.v[i].id) < 0);
	assert_null(store_rows_find(&rows, "p", "Rollout/web")->owner);
	assert_null(store_rows_find(&rows, "p", "Service/web.r0-cc")); /* retired: no process, no child */
	struct state_row *c = store_rows_find(&rows, "p", "Service/web.r2-bb");
	assert_non_null(c);
	assert_string_equal(c->owner, "Rollout/web");
	assert_string_equal(c->api_version, "service/v1");
	assert_string_equal(c->spec, "{\"command\":[\"b\"]}");
	assert_string_equal(c->deps, "[\"Rollout/web\"]");
	assert_non_null(strstr(c->outputs, "\"status\":\"active\""));
	assert_non_null(strstr(c->outputs, "\"port\":10001"));
	struct state_row *route = store_rows_find(&rows, "p", "Route/web");
	assert_non_null(route);
	assert_string_equal(route->owner, "Rollout/web");
	json_t *rs = json_loads(route->spec, 0, NULL);
	json_t *ups = json_object_get(rs, "upstreams");
	assert_int_equal(json_array_size(ups), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *u = json_array_get(ups, i);
		bool active = !strcmp(json_string_value(json_object_get(u, "service")), "Service/web.r2-bb");
		assert_int_equal(json_integer_value(json_object_get(u, "weight")), active ? 100 : 0);
	}
	json_decref(rs);
	/* the Route goes first in a destroy: it depends on the Services it routes to */
	assert_non_null(strstr(route->deps, "Service/web.r1-aa"));
	store_rows_release(&rows);
	/* a switch retires r1: its child goes in the same transaction */
	v[0].status = "retired";
	assert_int_equal(store_releases_put(s, v, 1), 0);
	assert_int_equal(store_list(s, "dev", "p", &rows), 0);
	assert_int_equal(rows.n, 4);
	assert_null(store_rows_find(&rows, "p", "Service/web.r1-aa"));
	store_rows_release(&rows);
	/* a variant of a running experiment is owned by it, with the split's weight */
	struct release var = { .project = "p", .environment = "dev", .rollout = "web", .id = "r3-dd", .colour = "b", .port = 10003,
	                       .spec = "{}", .status = "variant", .log = "[]" };
	assert_int_equal(store_releases_put(s, &var, 1), 0);
	struct record x = { .kind = "experiment", .scope = "dev/p", .name = "checkout",
	                    .body = "{\"rollout\":\"web\",\"variants\":[{\"name\":\"a\",\"control\":true,\"release\":\"r2-bb\",\"weight\":1},"
	                            "{\"name\":\"b\",\"release\":\"r3-dd\",\"weight\":3}]}" };
	assert_int_equal(store_record_put(s, &x, STORE_REV_ANY, NULL), 0);
	free(x.created); /* set by the put */
	free(x.updated);
	assert_int_equal(store_list(s, "dev", NULL, &rows), 0);
	c = store_rows_find(&rows, "p", "Service/web.r3-dd");
	assert_non_null(c);
	assert_string_equal(c->owner, "Experiment/checkout");
	assert_string_equal(c->deps, "[\"Rollout/web\"]");
	route = store_rows_find(&rows, "p", "Route/web");
	assert_non_null(strstr(route->spec, "\"service\":\"Service/web.r3-dd\",\"status\":\"variant\",\"weight\":3"));
	store_rows_release(&rows);
	store_close(s);
}

/* rollout: several releases written as one unit of work, and the port allocator */
static bool all_usable_but_10002(int port, void *payload)
{
	(void)payload;
	return port != 10002;
}

static void test_store_releases_unit_and_port_allocator(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	struct release v[2] = {
		{ .project = "p", .environment = "dev", .rollout = "web", .id = "r1", .colour = "blue", .port = 10000, .spec = "{}",
		  .status = "previous", .log = "[]" },
		{ .project = "p", .environment = "dev", .rollout = "web", .id = "r2", .colour = "green", .port = 10001, .spec = "{}",
		  .status = "active", .log = "[]" },
	};
	assert_int_equal(store_releases_put(s, v, 2), 0);
	assert_int_equal(store_releases_put(s, v, 0), CRATIS_EINVAL);
	struct releases rels;
	assert_int_equal(store_releases(s, "dev", "p", "web", &rels), 0);
	assert_int_equal(rels.n, 2);
	store_releases_release(&rels);
	/* 10000 and 10001 are held, 10002 is in use: the allocator hands out 10003 and records r3 */
	struct port_range range = { .lo = 10000, .hi = 10004, .start = 10000, .usable = all_usable_but_10002 };
	struct release r3 = { .project = "p", .environment = "staging", .rollout = "api", .id = "r3", .colour = "blue",
	                      .spec = "{}", .status = "preview", .log = "[]" };
	assert_int_equal(store_release_allocate(s, &r3, &range), 0);
	assert_int_equal(r3.port, 10003);
	assert_int_equal(store_releases(s, "staging", "p", "api", &rels), 0);
	assert_int_equal(rels.n, 1);
	assert_int_equal(rels.v[0].port, 10003);
	store_releases_release(&rels);
	/* the next one (another environment: ports are the machine's) gets 10004, then none is left */
	struct release r4 = r3;
	r4.id = "r4";
	assert_int_equal(store_release_allocate(s, &r4, &range), 0);
	assert_int_equal(r4.port, 10004);
	struct release r5 = r3;
	r5.id = "r5";
	r5.port = 0;
	assert_int_equal(store_release_allocate(s, &r5, &range), CRATIS_ENOTFOUND);
	assert_int_equal(r5.port, 0);
	/* a failed release holds no port; a retired one is handed out again only when nothing else is */
	r3.status = "failed";
	assert_int_equal(store_release_put(s, &r3), 0);
	assert_int_equal(store_release_allocate(s, &r5, &range), 0);
	assert_int_equal(r5.port, 10003);
	v[0].status = "retired";
	assert_int_equal(store_release_put(s, &v[0]), 0);
	struct release r6 = r3;
	r6.id = "r6";
	r6.status = "preview";
	r6.port = 0;
	assert_int_equal(store_release_allocate(s, &r6, &range), 0);
	assert_int_equal(r6.port, 10000);
	struct port_range bad = { .lo = 10005, .hi = 10004 };
	assert_int_equal(store_release_allocate(s, &r6, &bad), CRATIS_EINVAL);
	store_close(s);
}

/* ---- locks ---- */

static void test_store_lock_contention_and_stale_takeover(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	/* a live holder: a child process that sleeps */
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	struct lock_info a, b, holder;
	fill(&a, "dev", host_name(), child, "cratis apply (first)");
	assert_int_equal(store_lock(s, &a, 0, &holder), 0);
	struct deployment d = { .project = "p", .environment = "dev", .command = "cratis apply (first)", .started = "s" };
	assert_int_equal(store_deployment_begin(s, &d), 0); /* recorded on the lock this handle holds */
	fill(&b, "dev", host_name(), getpid(), "cratis apply (second)");
	struct store *s2 = open_ok(fx);
	assert_int_equal(store_lock(s2, &b, 300, &holder), CRATIS_ELOCKED);
	assert_int_equal(holder.pid, child);
	assert_int_equal(holder.deployment, d.id);
	assert_string_equal(holder.command, "cratis apply (first)");
	assert_contains(cratis_error_last()->message, "environment 'dev' is locked by tester@");
	assert_contains(cratis_error_last()->message, a.id);
	/* the holder dies without unlocking: the next run takes over at once, and closes its run */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(store_lock(s2, &b, 0, &holder), 0);
	assert_string_equal(holder.id, a.id);
	char *finished = NULL;
	assert_string_equal(deployment_result(s2, d.id, &finished), "interrupted");
	assert_non_null(finished);
	free(finished);
	struct lock_info *locks;
	size_t n;
	assert_int_equal(store_locks(s2, &locks, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(locks[0].id, b.id);
	assert_string_equal(locks[0].command, "cratis apply (second)");
	assert_true(locks[0].expires > locks[0].acquired);
	assert_int_equal(locks[0].lease_ms, STORE_LEASE_MS_DEFAULT);
	assert_true(locks[0].owner[0] != 0);
	free(locks);
	/* the old holder's renewal finds its lock gone */
	assert_int_equal(store_lock_renew(s, a.id), CRATIS_ENOTFOUND);
	assert_int_equal(store_unlock(s2, b.id), 0);
	assert_int_equal(store_unlock(s2, b.id), CRATIS_ENOTFOUND);
	store_close(s2);
	store_close(s);
}

struct racer {
	struct store *s;
	struct lock_info me, holder;
	pthread_barrier_t *go;
	int rc;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	pthread_barrier_wait(r->go);
	r->rc = store_lock(r->s, &r->me, 0, &r->holder);
	error_clear();
	return NULL;
}

static void test_store_two_clients_race_for_one_lock(void **state)
{
	struct fixture *fx = *state;
	for (int round = 0; round < 10; round++) {
		struct racer r[2];
		pthread_barrier_t go;
		pthread_barrier_init(&go, NULL, 2);
		pthread_t t[2];
		for (int i = 0; i < 2; i++) {
			memset(&r[i], 0, sizeof(r[i]));
			r[i].s = open_ok(fx);
			r[i].go = &go;
			fill(&r[i].me, "race", host_name(), getpid(), i ? "client b" : "client a");
			assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
		}
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_join(t[i], NULL), 0);
		pthread_barrier_destroy(&go);
		/* exactly one wins; the other is told who holds it */
		assert_int_equal((r[0].rc == 0) + (r[1].rc == 0), 1);
		int w = r[0].rc == 0 ? 0 : 1, l = 1 - w;
		assert_int_equal(r[l].rc, CRATIS_ELOCKED);
		assert_string_equal(r[l].holder.id, r[w].me.id);
		assert_string_equal(r[l].holder.command, r[w].me.command);
		struct lock_info *locks;
		size_t n;
		assert_int_equal(store_locks(r[l].s, &locks, &n), 0);
		assert_int_equal(n, 1);
		assert_string_equal(locks[0].id, r[w].me.id);
		free(locks);
		assert_int_equal(store_unlock(r[w].s, r[w].me.id), 0);
		store_close(r[0].s);
		store_close(r[1].s);
	}
}

static void test_store_lease_expiry_on_injected_clock(void **state)
{
	struct fixture *fx = *state;
	struct fake_clock clk = { 1767225600000, 0 }; /* 2026-01-01T00:00:00Z */
	struct store *s1 = open_ok(fx), *s2 = open_ok(fx);
	store_set_clock(s1, fake_now, &clk);
	store_set_clock(s2, fake_now, &clk);
	/* a holder on another host: judged by its lease alone */
	struct lock_info a, b, holder;
	fill(&a, "prod", "elsewhere.invalid", 1, "cratis apply (remote)");
	a.lease_ms = 30000;
	assert_int_equal(store_lock(s1, &a, 0, &holder), 0);
	assert_int_equal(a.acquired, clk.now);
	assert_int_equal(a.expires, clk.now + 30000);
	assert_string_equal(a.since, "2026-01-01T00:00:00Z");
	struct deployment d = { .project = "p", .environment = "prod", .command = "cratis apply (remote)", .started = "s" };
	assert_int_equal(store_deployment_begin(s1, &d), 0);
	fill(&b, "prod", host_name(), getpid(), "cratis apply (local)");
	atomic_store(&clk.now, clk.now + 20000);
	assert_int_equal(store_lock(s2, &b, 0, &holder), CRATIS_ELOCKED);
	assert_contains(cratis_error_last()->message, "lease until 2026-01-01T00:00:30Z");
	/* renewed at +20 s: the lease now runs to +50 s */
	assert_int_equal(store_lock_renew(s1, a.id), 0);
	atomic_store(&clk.now, clk.now + 29999);
	assert_int_equal(store_lock(s2, &b, 0, &holder), CRATIS_ELOCKED);
	assert_int_equal(holder.heartbeat, 1767225600000 + 20000);
	assert_int_equal(holder.expires, 1767225600000 + 50000);
	/* state unlock refuses a live holder unless forced */
	assert_int_equal(store_lock_break(s2, a.id, false, &holder), CRATIS_ELOCKED);
	assert_contains(cratis_error_last()->message, "tester@elsewhere.invalid");
	assert_contains(cratis_error_last()->message, "is alive");
	/* expired: taken over, and its deployment closed as interrupted at the store's time */
	atomic_store(&clk.now, 1767225600000 + 50000);
	assert_int_equal(store_lock(s2, &b, 0, &holder), 0);
	assert_string_equal(holder.id, a.id);
	char *finished = NULL;
	assert_string_equal(deployment_result(s2, d.id, &finished), "interrupted");
	assert_string_equal(finished, "2026-01-01T00:00:50Z");
	free(finished);
	assert_int_equal(store_lock_renew(s1, a.id), CRATIS_ENOTFOUND);
	assert_contains(cratis_error_last()->message, "no longer held");
	assert_int_equal(store_unlock(s2, b.id), 0);
	store_close(s1);
	store_close(s2);
}

static void test_store_unlock_refuses_live_holder_unless_forced(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	struct lock_info me, holder;
	/* this process: a live pid on this host */
	fill(&me, "dev", host_name(), getpid(), "cratis apply");
	assert_int_equal(store_lock(s, &me, 0, &holder), 0);
	assert_int_equal(store_lock_break(s, me.id, false, &holder), CRATIS_ELOCKED);
	assert_contains(cratis_error_last()->message, "refusing to release lock");
	assert_contains(cratis_error_last()->message, "'cratis apply'");
	assert_int_equal(store_lock_break(s, me.id, true, &holder), 0);
	assert_string_equal(holder.command, "cratis apply");
	assert_int_equal(store_lock_break(s, me.id, true, &holder), CRATIS_ENOTFOUND);
	/* a dead holder: released without force, its deployment closed as interrupted */
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	fill(&me, "dev", host_name(), child, "cratis apply (dead)");
	assert_int_equal(store_lock(s, &me, 0, &holder), 0);
	struct deployment d = { .project = "p", .environment = "dev", .command = "cratis apply (dead)", .started = "s" };
	assert_int_equal(store_deployment_begin(s, &d), 0);
	assert_int_equal(store_lock_break(s, me.id, false, &holder), 0);
	assert_string_equal(deployment_result(s, d.id, NULL), "interrupted");
	store_close(s);
}

static void test_store_lease_keeper_renews_until_stopped(void **state)
{
	struct fixture *fx = *state;
	struct fake_clock clk = { 1767225600000, 0 };
	struct store *s = open_ok(fx);
	store_set_clock(s, fake_now, &clk);
	struct lock_info me, holder;
	fill(&me, "dev", host_name(), getpid(), "cratis apply");
	me.lease_ms = 30; /* renewed every 10 ms of real time */
	assert_int_equal(store_lock(s, &me, 0, &holder), 0);
	struct lock_keeper *k;
	assert_int_equal(lock_keeper_start(&k, s, me.id, me.lease_ms, NULL), 0);
	atomic_store(&clk.now, clk.now + 5000);
	/* wait for the keeper's renewal to show the clock's new time: no deadline of our own (a busy
	 * machine may delay the keeper's thread for long); meson's test timeout bounds a hang */
	int64_t hb = 0;
	while (hb != clk.now) {
		struct lock_info *locks;
		size_t n;
		assert_int_equal(store_locks(s, &locks, &n), 0);
		assert_int_equal(n, 1);
		hb = locks[0].heartbeat;
		free(locks);
		if (hb != clk.now)
			usleep(10000);
	}
	assert_int_equal(hb, clk.now);
	assert_int_equal(lock_keeper_stop(k), 0);
	/* the lock lost to another run: the keeper's renewal fails and stop reports it */
	assert_int_equal(lock_keeper_start(&k, s, me.id, me.lease_ms, NULL), 0);
	/* counted before the break: a renewal that read the clock while the break held the store
	 * (and then failed) counts too; the break reads it once, a renewal after it once more */
	int calls = atomic_load(&clk.calls);
	assert_int_equal(store_lock_break(s, me.id, true, &holder), 0);
	while (atomic_load(&clk.calls) < calls + 2)   /* the keeper's next renewal; no deadline, as above */
		usleep(10000);
	assert_true(atomic_load(&clk.calls) >= calls + 2);
	assert_int_equal(lock_keeper_stop(k), CRATIS_ENOTFOUND);
	assert_contains(cratis_error_last()->message, me.id);
	assert_int_equal(lock_keeper_stop(NULL), 0);
	store_close(s);
}

/* ---- opening, schema, damage ---- */

static void test_store_open_by_url(void **state)
{
	struct fixture *fx = *state;
	struct store *s;
	assert_int_equal(store_open(&s, "nosuch://somewhere/state"), CRATIS_EINVAL);
	assert_null(s);
	assert_contains(cratis_error_last()->message, "unknown scheme 'nosuch'");
	assert_contains(cratis_error_last()->message, store_schemes());
	s = open_ok(fx);
	assert_string_equal(store_backend_name(s), fx->b->name);
	int v = 0;
	assert_int_equal(store_schema_version(s, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_LATEST);
	store_close(s);
}

static void test_store_sqlite_paths(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *plain = xasprintf("%s/plain.db", dir), *slashes = xasprintf("sqlite://%s/slashes.db", dir);
	struct store *s;
	assert_int_equal(store_open(&s, plain), 0);
	store_close(s);
	assert_int_equal(store_open(&s, slashes), 0);
	store_close(s);
	char *p = xasprintf("%s/slashes.db", dir);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(plain, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(p);
	free(plain);
	free(slashes);
	tmp_cleanup(dir);
}

static void test_store_newer_schema_is_refused(void **state)
{
	struct fixture *fx = *state;
	if (!fx->b->set_schema_version)
		skip();
	store_close(open_ok(fx));
	fx->b->set_schema_version(fx->url, STORE_SCHEMA_LATEST + 7);
	struct store *s;
	assert_int_equal(store_open(&s, fx->url), CRATIS_EINVAL);
	char *want = xasprintf("schema version %d, newer than this cratis knows (%d)", STORE_SCHEMA_LATEST + 7, STORE_SCHEMA_LATEST);
	assert_contains(cratis_error_last()->message, want);
	free(want);
}

static void check_legacy_migrated(struct fixture *fx)
{
	struct store *s = open_ok(fx);
	int v = 0;
	assert_int_equal(store_schema_version(s, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_LATEST);
	struct state_rows rows;
	assert_int_equal(store_list(s, "dev", NULL, &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_string_equal(rows.v[0].spec, "{\"v\":1}");
	store_rows_release(&rows);
	struct steps st;
	assert_int_equal(store_steps(s, 1, &st), 0);
	assert_int_equal(st.n, 1);
	store_steps_release(&st);
	/* the old lock (another host, no lease) is expired: taken over, its run closed */
	struct lock_info *locks, me, holder;
	size_t n;
	assert_int_equal(store_locks(s, &locks, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(locks[0].id, "0011223344556677");
	assert_int_equal(locks[0].expires, 0);
	free(locks);
	fill(&me, "dev", host_name(), getpid(), "cratis apply");
	assert_int_equal(store_lock(s, &me, 0, &holder), 0);
	/* the old lock had no deployment: the running one stays as it was */
	assert_string_equal(deployment_result(s, 1, NULL), "running");
	struct deployment d = { .project = "p", .environment = "dev", .command = "cratis apply", .started = "s", .inputs = "{}" };
	assert_int_equal(store_deployment_begin(s, &d), 0);
	assert_true(d.id > 1);
	struct artifacts a;
	assert_int_equal(store_artifacts(s, NULL, true, &a), 0);
	store_artifacts_release(&a);
	store_close(s);
	/* opened again: nothing to migrate, same data */
	s = open_ok(fx);
	assert_int_equal(store_list(s, "dev", NULL, &rows), 0);
	assert_int_equal(rows.n, 1);
	store_rows_release(&rows);
	store_close(s);
}

static void test_store_migrates_unversioned_schema(void **state)
{
	struct fixture *fx = *state;
	if (!fx->b->make_legacy)
		skip();
	fx->b->make_legacy(fx->url, false);
	check_legacy_migrated(fx);
	if (!strcmp(fx->b->name, "sqlite")) {
		sqlite3 *db = raw_open(fx->url);
		assert_int_equal(raw_int(db, "SELECT count(*) FROM schema_migrations"), STORE_SCHEMA_LATEST);
		assert_int_equal(raw_int(db, "SELECT count(*) FROM schema_migrations WHERE applied LIKE '____-__-__T__:__:__Z'"), STORE_SCHEMA_LATEST);
		sqlite3_close(db);
	}
}

static void test_store_migrates_schema_without_inputs(void **state)
{
	struct fixture *fx = *state;
	if (!fx->b->make_legacy)
		skip();
	fx->b->make_legacy(fx->url, true);
	check_legacy_migrated(fx);
}

static void test_store_empty_and_foreign_files_are_errors(void **state)
{
	struct fixture *fx = *state;
	if (!fx->b->make_foreign)
		skip();
	static const struct {
		const char *kind, *message;
	} cases[] = {
		{ "empty", "is an empty file (0 bytes)" },
		{ "text", "is not a SQLite database" },
		{ "other-sqlite", "without cratis' tables" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!strcmp(fx->b->name, "sqlite"))
			unlink(sqlite_path(fx->url));
		fx->b->make_foreign(fx->url, cases[i].kind);
		struct store *s;
		int rc = store_open(&s, fx->url);
		if (!rc)
			fail_msg("%s: opened as state", cases[i].kind);
		assert_int_equal(rc, CRATIS_EIO);
		assert_contains(cratis_error_last()->message, cases[i].message);
	}
}

/* Every read op on a damaged store returns an error with a message, and an empty answer. */
static void check_reads_fail(struct store *s)
{
	struct state_rows rows;
	assert_int_not_equal(store_list(s, "dev", NULL, &rows), 0);
	assert_contains(cratis_error_last()->message, "list resources");
	assert_int_equal(rows.n, 0);
	struct deployments h;
	assert_int_not_equal(store_history(s, NULL, 0, &h), 0);
	assert_contains(cratis_error_last()->message, "read history");
	assert_int_equal(h.n, 0);
	struct steps st;
	assert_int_not_equal(store_steps(s, 1, &st), 0);
	assert_contains(cratis_error_last()->message, "read steps");
	assert_int_equal(st.n, 0);
	struct lock_info *locks;
	size_t n;
	assert_int_not_equal(store_locks(s, &locks, &n), 0);
	assert_contains(cratis_error_last()->message, "list locks");
	assert_int_equal(n, 0);
	assert_null(locks);
	struct artifacts a;
	assert_int_not_equal(store_artifacts(s, NULL, true, &a), 0);
	assert_contains(cratis_error_last()->message, "list artifacts");
	assert_int_equal(a.n, 0);
	struct releases r;
	assert_int_not_equal(store_releases(s, "dev", "p", "web", &r), 0);
	assert_contains(cratis_error_last()->message, "list releases");
	assert_int_equal(r.n, 0);
	/* and taking a lock reads the locks table: an error too, not "free" */
	struct lock_info me, holder;
	fill(&me, "dev", host_name(), getpid(), "cratis apply");
	int rc = store_lock(s, &me, 0, &holder);
	assert_int_not_equal(rc, 0);
	assert_int_not_equal(rc, CRATIS_ELOCKED);
}

static void damaged(struct fixture *fx, bool truncate)
{
	if (!fx->b->damage)
		skip();
	struct store *s = open_ok(fx);
	struct deployment d = { .project = "p", .environment = "dev", .command = "cratis apply", .started = "s" };
	struct lock_info me, holder;
	fill(&me, "dev", host_name(), getpid(), "cratis apply");
	assert_int_equal(store_lock(s, &me, 0, &holder), 0);
	assert_int_equal(store_deployment_begin(s, &d), 0);
	struct state_row r = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .spec = "{}", .outputs = "{}",
	                       .deps = "[]", .status = "ready" };
	struct step st = { .resource = "Task/a", .action = "create", .result = "ok" };
	assert_int_equal(store_record(s, "dev", &r, &st, d.id), 0);
	struct artifact a = { .name = "web", .version = "1.0.0", .digest = "sha256:aa" }, old;
	enum artifact_outcome o;
	assert_int_equal(store_artifact_record(s, &a, &o, &old), 0);
	artifact_release(&old);
	struct release rel = { .project = "p", .environment = "dev", .rollout = "web", .id = "r1", .status = "active" };
	assert_int_equal(store_release_put(s, &rel), 0);
	store_close(s);
	fx->b->damage(fx->url, truncate);
	int rc = store_open(&s, fx->url);
	if (rc && truncate) {
		/* a cut file may already fail at open: an error naming the state, never empty state */
		assert_contains(cratis_error_last()->message, "malformed");
		assert_contains(cratis_error_last()->message, sqlite_path(fx->url));
		return;
	}
	if (rc)
		fail_msg("a damaged store whose schema is intact should open (and fail on read): %s", cratis_error_last()->message);
	check_reads_fail(s);
	store_close(s);
}

static void test_store_damaged_pages_fail_every_read(void **state)
{
	damaged(*state, false);
}

static void test_store_truncated_file_fails_every_read(void **state)
{
	damaged(*state, true);
}


/* ---- PostgreSQL only ---- */

static struct store *pg_open_ok(const char *url)
{
	struct store *s;
	if (store_open(&s, url))
		fail_msg("store_open(%s): %s", url, cratis_error_last()->message);
	return s;
}

/* Two installations on one server: separate tables, and separate locks for one environment name. */
static void test_store_pg_installations_share_a_server(void **state)
{
	struct fixture *fx = *state;
	void *ctx2;
	char *url2 = pg_fresh(&ctx2);
	struct store *a = open_ok(fx), *b = pg_open_ok(url2);
	struct state_row r = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .spec = "{}", .outputs = "{}",
	                       .deps = "[]", .status = "ready" };
	assert_int_equal(store_record(a, "dev", &r, NULL, 1), 0);
	struct state_rows rows;
	assert_int_equal(store_list(b, "dev", NULL, &rows), 0);
	assert_int_equal(rows.n, 0);
	store_rows_release(&rows);
	struct lock_info la, lb, holder;
	fill(&la, "dev", host_name(), getpid(), "cratis apply (a)");
	fill(&lb, "dev", host_name(), getpid(), "cratis apply (b)");
	assert_int_equal(store_lock(a, &la, 0, &holder), 0);
	assert_int_equal(store_lock(b, &lb, 0, &holder), 0);
	char *sql = xasprintf("SELECT count(*) FROM pg_tables WHERE schemaname = '%s'", pg_schema(url2));
	assert_int_equal(pg_int(sql), 11); /* ten tables (six, the outbox: events, deliveries, sinks, and records) and schema_migrations */
	free(sql);
	sql = xasprintf("SELECT count(*) FROM \"%s\".schema_migrations", pg_schema(url2));
	assert_int_equal(pg_int(sql), STORE_SCHEMA_LATEST);
	free(sql);
	assert_int_equal(store_unlock(a, la.id), 0);
	assert_int_equal(store_unlock(b, lb.id), 0);
	store_close(a);
	store_close(b);
	free(url2);
	pg_cleanup(ctx2);
}

/* Environments lock independently: never one global lock. */
static void test_store_pg_environments_lock_independently(void **state)
{
	struct fixture *fx = *state;
	struct store *a = open_ok(fx), *b = open_ok(fx);
	struct lock_info la, lb, holder;
	fill(&la, "staging", host_name(), getpid(), "cratis apply --env staging");
	fill(&lb, "production", host_name(), getpid(), "cratis apply --env production");
	assert_int_equal(store_lock(a, &la, 0, &holder), 0);
	assert_int_equal(store_lock(b, &lb, 0, &holder), 0);
	struct lock_info *locks;
	size_t n;
	assert_int_equal(store_locks(a, &locks, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(locks[0].environment, "production");
	assert_string_equal(locks[1].environment, "staging");
	free(locks);
	assert_int_equal(pg_int("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 2);
	store_close(a); /* ends its session without unlocking: its advisory lock goes with it */
	assert_int_equal(pg_int("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 1);
	assert_int_equal(store_unlock(b, lb.id), 0);
	assert_int_equal(pg_int("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0);
	store_close(b);
}

/* A holder on another host, its lease still running, killed (kill -9): its session ends, its
 * advisory lock is free, and the next run takes the lock over at once and closes its run;
 * `state unlock` of such a lock needs no --force either. */
static void test_store_pg_killed_holder_is_taken_over_at_once(void **state)
{
	struct fixture *fx = *state;
	for (int round = 0; round < 2; round++) {
		int p[2];
		assert_int_equal(pipe(p), 0);
		pid_t child = fork();
		if (child == 0) {
			close(p[0]);
			struct store *s;
			struct lock_info me, holder;
			if (store_open(&s, fx->url))
				_exit(2);
			fill(&me, "prod", "elsewhere.invalid", 4242, "cratis apply (remote)");
			me.lease_ms = 3600 * 1000;
			if (store_lock(s, &me, 0, &holder))
				_exit(3);
			struct deployment d = { .project = "p", .environment = "prod", .command = "cratis apply (remote)", .started = "s" };
			if (store_deployment_begin(s, &d))
				_exit(4);
			char line[80];
			int len = snprintf(line, sizeof(line), "%s %lld\n", me.id, (long long)d.id);
			if (write(p[1], line, (size_t)len) != len)
				_exit(5);
			pause();
			_exit(0);
		}
		close(p[1]);
		char line[80] = "";
		ssize_t got = read(p[0], line, sizeof(line) - 1);
		close(p[0]);
		assert_true(got > 0);
		char id[40];
		long long dep;
		assert_int_equal(sscanf(line, "%39s %lld", id, &dep), 2);
		struct store *s = open_ok(fx);
		struct lock_info me, holder;
		fill(&me, "prod", host_name(), getpid(), "cratis apply (next)");
		/* alive: its session holds the advisory lock and its lease runs for an hour */
		assert_int_equal(store_lock(s, &me, 0, &holder), CRATIS_ELOCKED);
		assert_string_equal(holder.id, id);
		assert_int_equal(store_lock_break(s, id, false, &holder), CRATIS_ELOCKED);
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		/* the server notices the closed socket: wait for the session to end (no deadline of our
		 * own; meson's test timeout bounds a hang) */
		while (pg_int("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") > 0)
			usleep(10000);
		if (round == 0) {
			assert_int_equal(store_lock(s, &me, 0, &holder), 0);
			assert_string_equal(holder.id, id);
			assert_int_equal(store_unlock(s, me.id), 0);
		} else {
			assert_int_equal(store_lock_break(s, id, false, &holder), 0);
			assert_string_equal(holder.id, id);
		}
		assert_string_equal(deployment_result(s, dep, NULL), "interrupted");
		store_close(s);
	}
}

static void test_store_pg_foreign_schema_is_refused(void **state)
{
	struct fixture *fx = *state;
	char *sql = xasprintf("CREATE SCHEMA \"%s\"; CREATE TABLE \"%s\".notes (t text)", pg_schema(fx->url), pg_schema(fx->url));
	pg_exec(sql);
	free(sql);
	struct store *s;
	assert_int_equal(store_open(&s, fx->url), CRATIS_EIO);
	assert_null(s);
	assert_contains(cratis_error_last()->message, "without cratis' tables");
	assert_contains(cratis_error_last()->message, pg_schema(fx->url));
}

/* A password in the URL never reaches a message, nor what the store says it is. */
static void test_store_pg_password_not_in_messages(void **state)
{
	struct fixture *fx = *state;
	const char *base = getenv("CRATIS_TEST_PG_URL");
	const char *hostpart = strstr(base, "@");
	assert_non_null(hostpart);
	char *wrong = xasprintf("postgres://cratis:s3cret-word%s", hostpart);
	struct store *s;
	assert_int_equal(store_open(&s, wrong), CRATIS_EIO);
	assert_contains(cratis_error_last()->message, "password authentication failed");
	assert_contains(cratis_error_last()->message, "postgres://cratis@");
	if (strstr(cratis_error_last()->message, "s3cret-word"))
		fail_msg("the password is in the message: %s", cratis_error_last()->message);
	free(wrong);
	wrong = xasprintf("%s%cpassword=s3cret-word&sslmode=disable", base, strchr(base, '?') ? '&' : '?');
	assert_int_equal(store_open(&s, wrong), CRATIS_EIO);
	assert_contains(cratis_error_last()->message, "sslmode=disable");
	if (strstr(cratis_error_last()->message, "s3cret-word"))
		fail_msg("the password is in the message: %s", cratis_error_last()->message);
	free(wrong);
	/* the right password in the URL: it works, and the store's name lacks it */
	char *right = xasprintf("postgres://cratis:%s%s%cschema=%s", getenv("PGPASSWORD"), hostpart,
	                        strchr(hostpart, '?') ? '&' : '?', pg_schema(fx->url));
	s = pg_open_ok(right);
	assert_null(strstr(s->path, getenv("PGPASSWORD")));
	assert_contains(s->path, "postgres://cratis@127.0.0.1:");
	store_close(s);
	free(right);
}

/* The schema from the connection's search_path when the URL sets one in options. */
static void test_store_pg_search_path_from_options(void **state)
{
	struct fixture *fx = *state;
	const char *base = getenv("CRATIS_TEST_PG_URL");
	char *url = xasprintf("%s%coptions=-csearch_path%%3D%s", base, strchr(base, '?') ? '&' : '?', pg_schema(fx->url));
	struct store *s = pg_open_ok(url);
	store_close(s);
	char *sql = xasprintf("SELECT count(*) FROM pg_tables WHERE schemaname = '%s' AND tablename = 'resources'", pg_schema(fx->url));
	assert_int_equal(pg_int(sql), 1);
	free(sql);
	free(url);
}

/* ---- whole-store copies (state migrate) ---- */

/* Every cell of every table of s, as one comparable text. */
static char *dump_text(struct store *s)
{
	struct store_dump d;
	assert_int_equal(s->ops->dump(s, &d), 0);
	struct buf b = BUF_INIT;
	for (int k = 0; k < STORE_T__COUNT; k++) {
		const struct store_table_def *t = store_table_def((enum store_table)k);
		buf_addf(&b, "[%s %zu]\n", t->name, d.t[k].nrows);
		for (size_t i = 0; i < d.t[k].nrows * t->ncolumns; i++)
			buf_addf(&b, "%s%s", d.t[k].cells[i] ? d.t[k].cells[i] : "<NULL>", (i + 1) % t->ncolumns ? "|" : "\n");
	}
	store_dump_release(&d);
	return buf_detach(&b);
}

/* A store with a little of everything: a failed and a succeeded deployment with steps (one with
 * a NULL message), ready, pending and failed rows in two environments, a stable artifact and a
 * snapshot recorded twice, a release. Returns the newest deployment id. */
static int64_t fill_everything(struct store *s)
{
	struct deployment d1 = { .project = "p", .environment = "dev", .command = "cratis apply", .user = "u", .host = "h",
	                         .started = "2026-01-01T00:00:00Z", .inputs = "{\"variables\":{}}" };
	assert_int_equal(store_deployment_begin(s, &d1), 0);
	struct state_row r1 = { .project = "p", .id = "Task/a", .api_version = "exec/v1", .spec = "{\"x\":\"é\\n\"}",
	                        .outputs = "{}", .deps = "[]", .status = "ready" };
	struct step st1 = { .resource = "Task/a", .action = "create", .result = "ok", .started = "s", .finished = "f" };
	assert_int_equal(store_record(s, "dev", &r1, &st1, d1.id), 0);
	struct state_row r2 = { .project = "p", .id = "Task/b", .api_version = "exec/v1", .pending_spec = "{}", .deps = "[]",
	                        .status = "failed", .message = "it broke: 'quoted' | pipe" };
	struct step st2 = { .resource = "Task/b", .action = "create", .result = "failed", .message = "it broke", .started = "s",
	                    .finished = "f" };
	assert_int_equal(store_record(s, "dev", &r2, &st2, d1.id), 0);
	d1.finished = "2026-01-01T00:00:01Z";
	d1.result = "failed";
	d1.summary = "1 succeeded, 1 failed";
	assert_int_equal(store_deployment_finish(s, &d1), 0);
	struct deployment d2 = { .project = "q", .environment = "prod", .command = "cratis apply", .started = "2026-01-02T00:00:00Z" };
	assert_int_equal(store_deployment_begin(s, &d2), 0);
	struct state_row r3 = { .project = "q", .id = "Service/w", .api_version = "service/v1", .pending_spec = "{}",
	                        .deps = "[]", .deployment = d2.id };
	assert_int_equal(store_mark_pending(s, "prod", &r3), 0);
	struct artifact a = { .name = "web", .version = "1.0.0", .digest = "sha256:aa", .user = "u" }, old;
	enum artifact_outcome o;
	assert_int_equal(store_artifact_record(s, &a, &o, &old), 0);
	artifact_release(&old);
	struct artifact snap = { .name = "web", .version = "1.1.0-SNAPSHOT", .digest = "sha256:bb", .snapshot = true };
	assert_int_equal(store_artifact_record(s, &snap, &o, &old), 0);
	artifact_release(&old);
	snap.digest = "sha256:cc";
	assert_int_equal(store_artifact_record(s, &snap, &o, &old), 0);
	assert_int_equal(o, ARTIFACT_REPLACED);
	artifact_release(&old);
	struct release rel = { .project = "q", .environment = "prod", .rollout = "web", .id = "r1", .colour = "green",
	                       .port = 8123, .spec = "{}", .status = "active", .stage = "afterPostProd", .log = "[]",
	                       .retire_at = 1767225600 };
	assert_int_equal(store_release_put(s, &rel), 0);
	struct store_event ev[2] = {
		{ .type = "dev.cratis.deployment.started", .source = "/projects/q/environments/prod", .data = "{\"deployment\":2}" },
		{ .type = "dev.cratis.resource.changed", .subject = "Service/w", .source = "/projects/q/environments/prod" },
	};
	assert_int_equal(store_emit(s, "prod", d2.id, ev, 2), 0);
	for (int i = 0; i < 10; i++) /* seq 10 and beyond: copied and compared in numeric order */
		assert_int_equal(store_emit(s, "prod", d2.id, &ev[1], 1), 0);
	struct store_events got;
	struct event_query all = { 0 };
	assert_int_equal(store_events(s, &all, &got), 0);
	struct delivery_mark m = { .status = DELIVERY_DELIVERED, .attempts = 1, .first_attempt_ms = 5 };
	assert_int_equal(store_delivery_mark(s, "log", got.v[0].seq, &m), 0);
	store_events_release(&got);
	assert_int_equal(store_sink_set_disabled(s, "hook", true, "410 Gone"), 0);
	struct record r = { .kind = "experiment", .scope = "prod/q", .name = "checkout", .body = "{\"status\":\"running\"}" };
	assert_int_equal(store_record_put(s, &r, 0, NULL), 0);
	assert_int_equal(store_record_put(s, &r, 1, NULL), 0); /* revision 2 is copied as it is */
	free(r.created);
	free(r.updated);
	return d2.id;
}

static void test_store_migrate_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct store *src = open_ok(fx);
	int64_t last = fill_everything(src);
	char *before = dump_text(src);
	/* to SQLite and back to a fresh store of this backend */
	void *mid_ctx, *back_ctx;
	char *mid_url = all_backends[0].fresh(&mid_ctx);
	char *back_url = fx->b->fresh(&back_ctx);
	struct store *mid, *back;
	assert_int_equal(store_open(&mid, mid_url), 0);
	assert_int_equal(store_open(&back, back_url), 0);
	struct store_migrate_report rep;
	if (store_migrate(src, mid, &rep))
		fail_msg("migrate: %s", cratis_error_last()->message);
	assert_int_equal(rep.t[STORE_T_DEPLOYMENTS].source_rows, 2);
	assert_int_equal(rep.t[STORE_T_STEPS].target_rows, 2);
	assert_int_equal(rep.t[STORE_T_RESOURCES].target_rows, 3);
	assert_int_equal(rep.t[STORE_T_ARTIFACTS].target_rows, 3);
	assert_int_equal(rep.t[STORE_T_RELEASES].target_rows, 1);
	assert_int_equal(rep.t[STORE_T_EVENTS].target_rows, 12);
	assert_int_equal(rep.t[STORE_T_DELIVERIES].target_rows, 1);
	assert_int_equal(rep.t[STORE_T_SINKS].target_rows, 2);
	assert_int_equal(rep.t[STORE_T_RECORDS].target_rows, 1);
	assert_string_equal(rep.t[STORE_T_RESOURCES].source_sha256, rep.t[STORE_T_RESOURCES].target_sha256);
	assert_int_equal(store_migrate(mid, back, &rep), 0);
	char *after = dump_text(back), *middle = dump_text(mid);
	assert_string_equal(before, middle);
	assert_string_equal(before, after);
	char *src_after = dump_text(src); /* the source is unchanged */
	assert_string_equal(before, src_after);
	free(src_after);
	/* the queries agree too */
	struct artifacts al;
	assert_int_equal(store_artifacts(back, NULL, true, &al), 0);
	assert_int_equal(al.n, 3);
	assert_string_equal(al.v[0].digest, "sha256:cc");
	store_artifacts_release(&al);
	struct steps steps;
	assert_int_equal(store_steps(back, 1, &steps), 0);
	assert_int_equal(steps.n, 2);
	assert_string_equal(steps.v[1].message, "it broke");
	store_steps_release(&steps);
	/* deployments go on after the copied ids */
	struct deployment d = { .project = "p", .environment = "dev", .command = "next", .started = "s" };
	assert_int_equal(store_deployment_begin(back, &d), 0);
	assert_true(d.id > last);
	/* a target with cratis data is refused, nothing written */
	char *mid_before = dump_text(mid);
	assert_int_equal(store_migrate(back, mid, &rep), CRATIS_EEXISTS);
	assert_contains(cratis_error_last()->message, "already holds cratis data");
	char *mid_after = dump_text(mid);
	assert_string_equal(mid_before, mid_after);
	/* the same store, and a source holding a lock, are refused */
	assert_int_equal(store_migrate(src, src, &rep), CRATIS_EINVAL);
	struct lock_info me, holder;
	fill(&me, "dev", host_name(), getpid(), "cratis apply");
	assert_int_equal(store_lock(src, &me, 0, &holder), 0);
	void *third_ctx;
	char *third_url = all_backends[0].fresh(&third_ctx);
	struct store *third;
	assert_int_equal(store_open(&third, third_url), 0);
	assert_int_equal(store_migrate(src, third, &rep), CRATIS_ELOCKED);
	assert_contains(cratis_error_last()->message, "1 lock is held");
	assert_int_equal(store_unlock(src, me.id), 0);
	struct state_rows rows;
	assert_int_equal(store_list(third, "dev", NULL, &rows), 0);
	assert_int_equal(rows.n, 0);
	store_rows_release(&rows);
	free(before);
	free(after);
	free(middle);
	free(mid_before);
	free(mid_after);
	store_close(third);
	store_close(mid);
	store_close(back);
	store_close(src);
	all_backends[0].cleanup(third_ctx);
	all_backends[0].cleanup(mid_ctx);
	fx->b->cleanup(back_ctx);
	free(third_url);
	free(mid_url);
	free(back_url);
}

/* ---- records (store ops version 5) ---- */

static struct record rec(const char *kind, const char *scope, const char *name, const char *body)
{
	return (struct record){ .kind = xstrdup(kind), .scope = xstrdup(scope), .name = xstrdup(name), .body = xstrdup(body) };
}

static void test_store_records(void **state)
{
	struct fixture *fx = *state;
	struct fake_clock clk = { 1767225600000, 0 };
	struct store *s = open_ok(fx);
	store_set_clock(s, fake_now, &clk);

	/* insert only (expect 0): revision 1, then refused */
	struct record a = rec("team", "", "payments", "{\"members\":[\"alice\"]}");
	assert_int_equal(store_record_put(s, &a, 0, NULL), 0);
	assert_int_equal(a.revision, 1);
	assert_string_equal(a.created, "2026-01-01T00:00:00Z");
	assert_string_equal(a.updated, a.created);
	assert_int_equal(store_record_put(s, &a, 0, NULL), CRATIS_EEXISTS);
	assert_contains(cratis_error_last()->message, "team 'payments' already exists (revision 1)");

	/* compare-and-set: the writer that read revision 1 wins once; a stale one is refused */
	atomic_store(&clk.now, 1767225660000);
	free(a.body);
	a.body = xstrdup("{\"members\":[\"alice\",\"bob\"]}");
	assert_int_equal(store_record_put(s, &a, 1, NULL), 0);
	assert_int_equal(a.revision, 2);
	assert_string_equal(a.created, "2026-01-01T00:00:00Z");
	assert_string_equal(a.updated, "2026-01-01T00:01:00Z");
	struct record stale = rec("team", "", "payments", "{\"members\":[]}");
	assert_int_equal(store_record_put(s, &stale, 1, NULL), CRATIS_EEXISTS);
	assert_contains(cratis_error_last()->message, "is at revision 2, not 1");
	struct record got;
	assert_int_equal(store_record_get(s, "team", "", "payments", &got), 0);
	assert_string_equal(got.body, "{\"members\":[\"alice\",\"bob\"]}");
	assert_int_equal(got.revision, 2);
	assert_string_equal(got.created, "2026-01-01T00:00:00Z");
	record_release(&got);
	/* unconditional: any revision, or none */
	assert_int_equal(store_record_put(s, &stale, STORE_REV_ANY, NULL), 0);
	assert_int_equal(stale.revision, 3);
	struct record missing = rec("team", "", "nobody", "{}");
	assert_int_equal(store_record_put(s, &missing, 4, NULL), CRATIS_ENOTFOUND);
	assert_int_equal(store_record_get(s, "team", "", "nobody", &got), CRATIS_ENOTFOUND);
	assert_null(got.body);

	/* bad keys and bodies are refused before anything is written */
	struct record bad = rec("Team", "", "x", "{}");
	assert_int_equal(store_record_put(s, &bad, STORE_REV_ANY, NULL), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "expected [a-z][a-z0-9-]*");
	free(bad.kind);
	bad.kind = xstrdup("team");
	free(bad.body);
	bad.body = xstrdup("[1]");
	assert_int_equal(store_record_put(s, &bad, STORE_REV_ANY, NULL), CRATIS_EINVAL);
	assert_contains(cratis_error_last()->message, "not a JSON object");
	free(bad.name);
	bad.name = xstrdup("");
	assert_int_equal(store_record_put(s, &bad, STORE_REV_ANY, NULL), CRATIS_EINVAL);

	/* scopes: the same name in two scopes is two records; lists are by scope, then name */
	struct record n1 = rec("namespace", "payments", "staging/web", "{\"quota\":{\"services\":3}}");
	struct record n2 = rec("namespace", "payments", "prod/web", "{}");
	struct record n3 = rec("namespace", "search", "staging/web", "{}");
	assert_int_equal(store_record_put(s, &n1, 0, NULL), 0);
	assert_int_equal(store_record_put(s, &n2, 0, NULL), 0);
	assert_int_equal(store_record_put(s, &n3, 0, NULL), 0);
	struct records all;
	assert_int_equal(store_records(s, "namespace", NULL, &all), 0);
	assert_int_equal(all.n, 3);
	assert_string_equal(all.v[0].scope, "payments");
	assert_string_equal(all.v[0].name, "prod/web");
	assert_string_equal(all.v[1].name, "staging/web");
	assert_string_equal(all.v[2].scope, "search");
	store_records_release(&all);
	assert_int_equal(store_records(s, "namespace", "search", &all), 0);
	assert_int_equal(all.n, 1);
	store_records_release(&all);
	assert_int_equal(store_records(s, "experiment", NULL, &all), 0);
	assert_int_equal(all.n, 0);
	store_records_release(&all);

	/* a change commits with its event, or neither (a refused event insert rolls the write back) */
	struct store_event ev = { .type = "dev.cratis.team.updated", .subject = "teams/payments", .source = "/teams/payments",
	                          .data = "{\"revision\":4}" };
	struct store_emits em = { .events = &ev, .n = 1 };
	if (fx->b->refuse_events) {
		fx->b->refuse_events(fx->url, true);
		assert_int_equal(store_record_put(s, &a, STORE_REV_ANY, &em), CRATIS_EIO);
		assert_int_equal(store_record_delete(s, "namespace", "search", "staging/web", STORE_REV_ANY, &em), CRATIS_EIO);
		fx->b->refuse_events(fx->url, false);
		assert_int_equal(store_record_get(s, "team", "", "payments", &got), 0);
		assert_int_equal(got.revision, 3);
		record_release(&got);
		assert_int_equal(store_record_get(s, "namespace", "search", "staging/web", &got), 0);
		record_release(&got);
		assert_int_equal(count_events(s, NULL), 0);
	}
	assert_int_equal(store_record_put(s, &a, STORE_REV_ANY, &em), 0);
	assert_int_equal(a.revision, 4);
	assert_int_equal(count_events(s, "dev.cratis.team.updated"), 1);

	/* delete: compare-and-set too */
	assert_int_equal(store_record_delete(s, "namespace", "payments", "staging/web", 7, NULL), CRATIS_EEXISTS);
	assert_int_equal(store_record_delete(s, "namespace", "payments", "staging/web", 0, NULL), CRATIS_EINVAL);
	assert_int_equal(store_record_delete(s, "namespace", "payments", "staging/web", 1, &em), 0);
	assert_int_equal(count_events(s, "dev.cratis.team.updated"), 2);
	assert_int_equal(store_record_delete(s, "namespace", "payments", "staging/web", STORE_REV_ANY, NULL), CRATIS_ENOTFOUND);
	assert_int_equal(store_record_get(s, "namespace", "payments", "staging/web", &got), CRATIS_ENOTFOUND);

	record_release(&a);
	record_release(&stale);
	record_release(&missing);
	record_release(&bad);
	record_release(&n1);
	record_release(&n2);
	record_release(&n3);
	store_close(s);
}

/* Writers on their own handles increment one counter by read + compare-and-set, retrying when
 * another got in first: no increment is lost. */
struct counter_writer {
	struct fixture *fx;
	pthread_barrier_t *go;
	int rounds, conflicts, errors;
};

static void *count_up(void *arg)
{
	struct counter_writer *w = arg;
	struct store *s = open_ok(w->fx);
	pthread_barrier_wait(w->go);
	for (int i = 0; i < w->rounds;) {
		struct record r;
		if (store_record_get(s, "counter", "", "c", &r)) {
			w->errors++;
			break;
		}
		long v = strtol(strchr(r.body, ':') + 1, NULL, 10);
		free(r.body);
		r.body = xasprintf("{\"v\":%ld}", v + 1);
		int rc = store_record_put(s, &r, r.revision, NULL);
		if (rc == 0)
			i++;
		else if (rc == CRATIS_EEXISTS)
			w->conflicts++;
		else if (w->errors++ > 5)
			break;
		record_release(&r);
	}
	store_close(s);
	error_clear(); /* the thread's last error (a lost compare-and-set) is freed before it ends */
	return NULL;
}

static void test_store_records_compare_and_set_loses_nothing(void **state)
{
	struct fixture *fx = *state;
	struct store *s = open_ok(fx);
	struct record c = rec("counter", "", "c", "{\"v\":0}");
	assert_int_equal(store_record_put(s, &c, 0, NULL), 0);
	enum { WRITERS = 3, ROUNDS = 20 };
	struct counter_writer w[WRITERS];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, WRITERS);
	pthread_t t[WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct counter_writer){ .fx = fx, .go = &go, .rounds = ROUNDS };
		assert_int_equal(pthread_create(&t[i], NULL, count_up, &w[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
	struct record got;
	assert_int_equal(store_record_get(s, "counter", "", "c", &got), 0);
	char want[32];
	snprintf(want, sizeof(want), "{\"v\":%d}", WRITERS * ROUNDS);
	assert_string_equal(got.body, want);
	assert_int_equal(got.revision, 1 + WRITERS * ROUNDS);
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(w[i].errors, 0);
	record_release(&got);
	record_release(&c);
	store_close(s);
}

#define CASE(f, b) cmocka_unit_test_prestate_setup_teardown(f, setup, teardown, (void *)(b))

int main(void)
{
	int failed = 0;
	/* PostgreSQL when a server is named (tests/pg/with-postgres.sh): the same cases, and its own */
	const char *pg = getenv("CRATIS_TEST_PG_URL");
	size_t nbackends = pg && *pg ? 2 : 1;
	for (size_t i = 0; i < nbackends; i++) {
		const struct backend *b = &all_backends[i];
		const struct CMUnitTest tests[] = {
			CASE(test_store_pending_keeps_recorded_spec, b),
			CASE(test_store_projects_share_one_state, b),
			CASE(test_store_rename, b),
			CASE(test_store_unit_of_work, b),
			CASE(test_store_unit_is_all_or_nothing, b),
			CASE(test_store_outbox, b),
			CASE(test_store_records, b),
			CASE(test_store_records_compare_and_set_loses_nothing, b),
			CASE(test_store_changes_commit_with_their_events, b),
			CASE(test_store_history_and_steps, b),
			CASE(test_store_artifacts_and_releases, b),
			CASE(test_store_releases_unit_and_port_allocator, b),
			CASE(test_store_children_of_a_rollout, b),
			CASE(test_store_migrate_round_trip, b),
			CASE(test_store_lock_contention_and_stale_takeover, b),
			CASE(test_store_two_clients_race_for_one_lock, b),
			CASE(test_store_lease_expiry_on_injected_clock, b),
			CASE(test_store_unlock_refuses_live_holder_unless_forced, b),
			CASE(test_store_lease_keeper_renews_until_stopped, b),
			CASE(test_store_open_by_url, b),
			CASE(test_store_newer_schema_is_refused, b),
			CASE(test_store_migrates_unversioned_schema, b),
			CASE(test_store_migrates_schema_without_inputs, b),
			CASE(test_store_empty_and_foreign_files_are_errors, b),
			CASE(test_store_damaged_pages_fail_every_read, b),
			CASE(test_store_truncated_file_fails_every_read, b),
		};
		failed += _cmocka_run_group_tests(b->name, tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
	}
	if (nbackends > 1) {
		const struct backend *b = &all_backends[1];
		const struct CMUnitTest pg_only[] = {
			CASE(test_store_pg_installations_share_a_server, b),
			CASE(test_store_pg_environments_lock_independently, b),
			CASE(test_store_pg_killed_holder_is_taken_over_at_once, b),
			CASE(test_store_pg_foreign_schema_is_refused, b),
			CASE(test_store_pg_password_not_in_messages, b),
			CASE(test_store_pg_search_path_from_options, b),
		};
		failed += cmocka_run_group_tests_name("postgres-only", pg_only, NULL, NULL);
	}
	const struct CMUnitTest sqlite_only[] = {
		cmocka_unit_test(test_store_sqlite_paths),
	};
	failed += cmocka_run_group_tests_name("sqlite-urls", sqlite_only, NULL, NULL);
	return failed;
}
