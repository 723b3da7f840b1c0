/* Built-in plugin `postgres` (postgres/v1): the System type `postgres` (a server and how to log
 * in), and the kinds Database, Role and Migration (migrate.c) deployed to it. Fields:
 * docs/postgres.md. libpq is opened on first use (../common/lazylib.h), by the first op that
 * connects, so loading this plugin costs a command nothing for it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg.h"

const struct cratis_host *pg_host;
#define host pg_host

/* ---- libpq, opened on first use ---- */

static struct pq_table pq_table; /* written only by pq_load, under pq_once */
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;

static void pq_load(void)
{
	struct pq_table *t = &pq_table;
	if (lazylib_open(&t->lib, "libpq", CRATIS_LIBPQ_SONAME, CRATIS_LIBPQ_PACKAGE) == CRATIS_OK) {
		PQ_FUNCTIONS(LAZYLIB_RESOLVE)
	}
}

static int pq_get(const struct pq_table **out, void *call)
{
	*out = NULL;
	if (pthread_once(&pq_once, pq_load) != 0) {
		host->error(call, NULL, "cannot load libpq: pthread_once failed");
		return CRATIS_ERROR;
	}
	if (pq_table.lib.status != CRATIS_OK) {
		host->error(call, NULL, "%s", pq_table.lib.message);
		return pq_table.lib.status;
	}
	*out = &pq_table;
	return CRATIS_OK;
}

/* ---- connection ---- */

int pg_validate_system(const struct cratis_request *req)
{
	if (!CRATIS_HAS(req, system_type) || strcmp(req->system_type ? req->system_type : "", "postgres")) {
		host->error(req->call, "spec.system", "%s/%s needs a System of type postgres (spec.system names it), not '%s'",
		            req->kind, req->name, CRATIS_HAS(req, system) && req->system && *req->system ? req->system : "none");
		return CRATIS_EINVAL;
	}
	return CRATIS_OK;
}

/* Wipe and free a secret value. */
static void secret_free(char *s)
{
	if (!s)
		return;
	volatile char *p = s;
	while (*p)
		*p++ = '\0';
	host->free(s);
}

/* The server's notices (RAISE NOTICE, "already exists, skipping") become the resource's debug
 * log lines instead of libpq's default, stderr. */
static void on_notice(void *arg, const char *message)
{
	const struct cratis_request *req = arg;
	size_t len = strlen(message);
	while (len && message[len - 1] == '\n')
		len--;
	host->log(req->call, CRATIS_LOG_DEBUG, "%.*s", (int)len, message);
}

int pg_connect(struct pg_conn *c, const struct cratis_request *req, const char *dbname, bool missing_ok)
{
	c->db = NULL;
	int rc = pq_get(&c->pq, req->call);
	if (rc)
		return rc;
	if ((rc = pg_validate_system(req)))
		return rc;
	json_t *sys = json_loads(req->system_spec ? req->system_spec : "{}", 0, NULL);
	json_t *auth = json_object_get(sys, "auth");
	json_t *pwref = json_object_get(auth, "password");
	char *password = NULL;
	if (pwref) {
		char *ref = json_dumps(pwref, JSON_COMPACT | JSON_ENCODE_ANY);
		rc = host->secret(req->call, ref, &password);
		free(ref);
		if (rc) {
			json_decref(sys);
			return rc;
		}
	}
	char port[24] = "";
	json_t *p = json_object_get(sys, "port");
	if (json_is_integer(p))
		snprintf(port, sizeof(port), "%" JSON_INTEGER_FORMAT, json_integer_value(p));
	else if (json_is_string(p))
		snprintf(port, sizeof(port), "%s", json_string_value(p));
	/* connect within the request's deadline (libpq counts whole seconds, at least 2) */
	char timeout[24] = "10";
	if (req->timeout_ms > 0)
		snprintf(timeout, sizeof(timeout), "%d", req->timeout_ms / 1000 < 2 ? 2 : req->timeout_ms / 1000);
	const char *host_name = spec_str(sys, "host", NULL), *user = spec_str(sys, "user", NULL);
	const char *sslmode = spec_str(sys, "sslmode", NULL);
	const char *db = dbname ? dbname : spec_str(sys, "database", "postgres");
	const char *keys[10], *vals[10];
	int n = 0;
	const char *kv[][2] = { { "host", host_name }, { "port", port }, { "dbname", db }, { "user", user },
		                { "password", password }, { "sslmode", sslmode }, { "connect_timeout", timeout },
		                { "application_name", "cratis" } };
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		if (kv[i][1] && *kv[i][1]) {
			keys[n] = kv[i][0];
			vals[n++] = kv[i][1];
		}
	keys[n] = vals[n] = NULL;
	c->db = c->pq->connectdb_params(keys, vals, 0);
	secret_free(password);
	if (!c->db || c->pq->status(c->db) != CONNECTION_OK) {
		const char *msg = c->db ? c->pq->error_message(c->db) : "out of memory";
		size_t len = strlen(msg);
		while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
			len--;
		if (missing_ok && strstr(msg, "does not exist") && strstr(msg, "database")) {
			rc = CRATIS_ENOTFOUND;
		} else {
			host->error(req->call, NULL, "cannot connect to PostgreSQL (System/%s: %s:%s, database '%s'): %.*s",
			            req->system ? req->system : "", host_name ? host_name : "(default)",
			            *port ? port : "5432", db, (int)len, msg);
			rc = CRATIS_EIO;
		}
		if (c->db)
			c->pq->finish(c->db);
		c->db = NULL;
	} else {
		c->pq->set_notice_processor(c->db, on_notice, (void *)req);
	}
	json_decref(sys);
	return rc;
}

void pg_close(struct pg_conn *c)
{
	if (c->db)
		c->pq->finish(c->db);
	c->db = NULL;
}

PGresult *pg_query(struct pg_conn *c, const struct cratis_request *req, const char *what, const char *sql, int n,
                   const char *const *params)
{
	PGresult *r = n ? c->pq->exec_params(c->db, sql, n, NULL, params, NULL, NULL, 0) : c->pq->exec(c->db, sql);
	ExecStatusType st = r ? c->pq->result_status(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	const char *msg = r ? c->pq->result_error_message(r) : c->pq->error_message(c->db);
	size_t len = strlen(msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
		len--;
	const char *prefix = "ERROR:  ";
	if (len > strlen(prefix) && !strncmp(msg, prefix, strlen(prefix))) {
		msg += strlen(prefix);
		len -= strlen(prefix);
	}
	host->error(req->call, NULL, "%s: %.*s", what, (int)len, msg);
	if (r)
		c->pq->clear(r);
	return NULL;
}

int pg_run(struct pg_conn *c, const struct cratis_request *req, const char *what, const char *sql, int n,
           const char *const *params)
{
	PGresult *r = pg_query(c, req, what, sql, n, params);
	if (!r)
		return CRATIS_EIO;
	c->pq->clear(r);
	return CRATIS_OK;
}

char *pg_ident(struct pg_conn *c, const struct cratis_request *req, const char *name)
{
	char *q = c->pq->escape_identifier(c->db, name, strlen(name));
	if (!q) {
		host->error(req->call, NULL, "cannot quote the identifier '%s': %s", name, c->pq->error_message(c->db));
		return NULL;
	}
	char *s = strdup(q);
	c->pq->freemem(q);
	return s;
}

/* ---- shared spec checks ---- */

/* A PostgreSQL identifier as cratis accepts it for names: 1..63 bytes, no NUL (PostgreSQL
 * truncates longer ones, which would make observe look for another name). */
static bool ident_ok(const char *s)
{
	return s && *s && strlen(s) <= 63;
}

static int check_type(const struct cratis_request *req, json_t *s, const char *key, int (*is)(const json_t *),
                      const char *what)
{
	json_t *v = json_object_get(s, key);
	if (v && !is(v)) {
		host->error(req->call, NULL, "spec.%s: expected %s", key, what);
		return CRATIS_EINVAL;
	}
	return CRATIS_OK;
}

static int is_string(const json_t *v) { return json_is_string(v); }
static int is_bool(const json_t *v) { return json_is_boolean(v); }
static int is_int(const json_t *v) { return json_is_integer(v); }
static int is_name_list(const json_t *v)
{
	if (!json_is_array(v))
		return 0;
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x) if (!json_is_string(x) || !ident_ok(json_string_value(x))) return 0;
	return 1;
}

/* The object's name: spec.name, else metadata.name. */
static const char *object_name(const struct cratis_request *req, json_t *s)
{
	return spec_str(s, "name", req->name);
}

static int reply(const struct cratis_request *req, char **out, json_t *doc)
{
	(void)req;
	*out = spec_out(host, doc);
	json_decref(doc);
	return CRATIS_OK;
}

static int observed(char **out, bool exists, const char *reason)
{
	json_t *doc = reason ? json_pack("{s:b,s:b,s:s}", "exists", exists, "drift", 1, "reason", reason)
	                     : json_pack("{s:b,s:b}", "exists", exists, "drift", !exists);
	*out = spec_out(host, doc);
	json_decref(doc);
	return CRATIS_OK;
}

/* Is name in the JSON array of strings a? */
static bool in_list(json_t *a, const char *name)
{
	size_t i;
	json_t *x;
	json_array_foreach(a, i, x) if (json_is_string(x) && !strcmp(json_string_value(x), name)) return true;
	return false;
}

/* ---- System (postgres/v1): documentation of the System's fields, never a resource ---- */

static int system_validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	host->error(req->call, NULL, "a postgres System is declared as 'apiVersion: cratis/v1, kind: System' with "
	            "'spec.type: postgres', not as a resource of postgres/v1");
	return CRATIS_EINVAL;
}

static int system_apply(void *data, const struct cratis_request *req, char **out)
{
	return system_validate(data, req, out);
}

static int system_destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)req;
	(void)out;
	return CRATIS_OK;
}

/* ---- Database ---- */

static int database_validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = spec_parse(req, 0);
	int rc = pg_validate_system(req);
	if (!rc)
		rc = check_type(req, s, "name", is_string, "a database name (a string)");
	if (!rc && !ident_ok(object_name(req, s))) {
		host->error(req->call, "spec.name", "the database name must be 1 to 63 bytes");
		rc = CRATIS_EINVAL;
	}
	if (!rc)
		rc = check_type(req, s, "owner", is_string, "the name of the owning role (a string)");
	if (!rc)
		rc = check_type(req, s, "encoding", is_string, "an encoding name such as UTF8");
	if (!rc)
		rc = check_type(req, s, "extensions", is_name_list, "a list of extension names");
	if (!rc)
		rc = check_type(req, s, "deletionProtection", is_bool, "true or false");
	json_decref(s);
	return rc;
}

/* Normalise an encoding name the way PostgreSQL prints it ("utf-8" -> "UTF8"). */
static void norm_encoding(const char *in, char *out, size_t cap)
{
	size_t j = 0;
	for (size_t i = 0; in[i] && j + 1 < cap; i++)
		if (in[i] != '-' && in[i] != '_')
			out[j++] = (char)(in[i] >= 'a' && in[i] <= 'z' ? in[i] - 32 : in[i]);
	out[j] = '\0';
}

static int database_plan(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *s = spec_parse(req, 0), *p = spec_parse(req, 1);
	char e1[64], e2[64];
	norm_encoding(spec_str(s, "encoding", "UTF8"), e1, sizeof(e1));
	norm_encoding(spec_str(p, "encoding", "UTF8"), e2, sizeof(e2));
	/* a database cannot be renamed in place by us nor change its encoding: replace */
	bool replace = strcmp(object_name(req, s), object_name(req, p)) || strcmp(e1, e2);
	json_decref(s);
	json_decref(p);
	return reply(req, out, json_pack("{s:s}", "action", replace ? "replace" : "update"));
}

static int database_apply(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *s = spec_parse(req, 0), *p = spec_parse(req, 1);
	const char *name = object_name(req, s), *owner = spec_str(s, "owner", NULL);
	char enc[64];
	norm_encoding(spec_str(s, "encoding", "UTF8"), enc, sizeof(enc));
	struct pg_conn c;
	char *qn = NULL, *qo = NULL, *sql = NULL;
	int rc = pg_connect(&c, req, NULL, false);
	if (rc)
		goto out_free;
	rc = CRATIS_EIO;
	if (!(qn = pg_ident(&c, req, name)) || (owner && !(qo = pg_ident(&c, req, owner))))
		goto out_close;
	const char *pv[1] = { name };
	PGresult *r = pg_query(&c, req, "cannot read pg_database",
	                       "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding) FROM pg_database WHERE datname = $1", 1, pv);
	if (!r)
		goto out_close;
	bool exists = c.pq->ntuples(r) > 0;
	char have_owner[128] = "";
	if (exists)
		snprintf(have_owner, sizeof(have_owner), "%s", c.pq->getvalue(r, 0, 0));
	c.pq->clear(r);
	if (!exists) {
		char *lit = c.pq->escape_literal(c.db, enc, strlen(enc));
		if (asprintf(&sql, "CREATE DATABASE %s%s%s ENCODING %s TEMPLATE template0", qn, qo ? " OWNER " : "", qo ? qo : "",
		             lit ? lit : "'UTF8'") < 0)
			sql = NULL;
		if (lit)
			c.pq->freemem(lit);
		if (!sql || pg_run(&c, req, "cannot create the database", sql, 0, NULL))
			goto out_close;
		host->log(req->call, CRATIS_LOG_INFO, "created database %s", qn);
	} else if (qo && strcmp(have_owner, owner)) {
		if (asprintf(&sql, "ALTER DATABASE %s OWNER TO %s", qn, qo) < 0)
			sql = NULL;
		if (!sql || pg_run(&c, req, "cannot change the database's owner", sql, 0, NULL))
			goto out_close;
	}
	/* extensions live in the database itself */
	json_t *want = json_object_get(s, "extensions"), *had = json_object_get(p, "extensions");
	if (json_array_size(want) || json_array_size(had)) {
		struct pg_conn d;
		if (pg_connect(&d, req, name, false))
			goto out_close;
		size_t i;
		json_t *x;
		int erc = CRATIS_OK;
		json_array_foreach(want, i, x) {
			char *q = pg_ident(&d, req, json_string_value(x)), *e = NULL;
			if (!q || asprintf(&e, "CREATE EXTENSION IF NOT EXISTS %s", q) < 0 ||
			    pg_run(&d, req, "cannot create the extension", e, 0, NULL))
				erc = CRATIS_EIO;
			free(q);
			free(e);
			if (erc)
				break;
		}
		json_array_foreach(had, i, x) {
			if (erc || in_list(want, json_string_value(x)))
				continue;
			char *q = pg_ident(&d, req, json_string_value(x)), *e = NULL;
			if (!q || asprintf(&e, "DROP EXTENSION IF EXISTS %s", q) < 0 ||
			    pg_run(&d, req, "cannot drop the extension", e, 0, NULL))
				erc = CRATIS_EIO;
			free(q);
			free(e);
		}
		pg_close(&d);
		if (erc)
			goto out_close;
	}
	rc = reply(req, out, json_pack("{s:{s:s,s:s,s:s}}", "outputs", "name", name, "owner", owner ? owner : have_owner,
	                               "encoding", enc));
out_close:
	pg_close(&c);
out_free:
	free(sql);
	free(qn);
	free(qo);
	json_decref(s);
	json_decref(p);
	return rc;
}

static int database_destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *p = spec_parse(req, 1);
	const char *name = object_name(req, p);
	bool protect = !json_is_false(json_object_get(p, "deletionProtection"));
	struct pg_conn d, c;
	char *qn = NULL, *sql = NULL;
	int rc = pg_connect(&d, req, name, true);
	if (rc == CRATIS_ENOTFOUND) {
		rc = CRATIS_OK; /* already gone */
		goto out_free;
	}
	if (rc)
		goto out_free;
	/* tables outside the system schemas: the database holds data */
	PGresult *r = pg_query(&d, req, "cannot count the database's tables",
	                       "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	                       "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
	                       "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'", 0, NULL);
	long tables = r ? strtol(d.pq->getvalue(r, 0, 0), NULL, 10) : 0;
	if (r)
		d.pq->clear(r);
	pg_close(&d);
	if (!r) {
		rc = CRATIS_EIO;
		goto out_free;
	}
	if (protect && tables > 0) {
		host->error(req->call, "spec.deletionProtection",
		            "database '%s' holds %ld table%s: refusing to drop it while deletionProtection is true "
		            "(set deletionProtection: false and apply, then destroy)", name, tables, tables == 1 ? "" : "s");
		rc = CRATIS_EINVAL;
		goto out_free;
	}
	if ((rc = pg_connect(&c, req, NULL, false)))
		goto out_free;
	rc = CRATIS_EIO;
	if ((qn = pg_ident(&c, req, name)) && asprintf(&sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", qn) >= 0 &&
	    !pg_run(&c, req, "cannot drop the database", sql, 0, NULL)) {
		host->log(req->call, CRATIS_LOG_INFO, "dropped database %s", qn);
		rc = CRATIS_OK;
	}
	pg_close(&c);
out_free:
	free(qn);
	free(sql);
	json_decref(p);
	return rc;
}

static int database_observe(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *p = spec_parse(req, 1);
	const char *name = object_name(req, p), *owner = spec_str(p, "owner", NULL);
	struct pg_conn c;
	int rc = pg_connect(&c, req, NULL, false);
	if (rc)
		goto out_free;
	const char *pv[1] = { name };
	PGresult *r = pg_query(&c, req, "cannot read pg_database",
	                       "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding) FROM pg_database WHERE datname = $1", 1, pv);
	if (!r) {
		rc = CRATIS_EIO;
		goto out_close;
	}
	char why[512] = "";
	bool exists = c.pq->ntuples(r) > 0;
	if (!exists) {
		snprintf(why, sizeof(why), "database '%s' does not exist", name);
	} else {
		char enc[64];
		norm_encoding(spec_str(p, "encoding", "UTF8"), enc, sizeof(enc));
		if (owner && strcmp(c.pq->getvalue(r, 0, 0), owner))
			snprintf(why, sizeof(why), "database '%s' is owned by '%s', expected '%s'", name, c.pq->getvalue(r, 0, 0), owner);
		else if (strcmp(c.pq->getvalue(r, 0, 1), enc))
			snprintf(why, sizeof(why), "database '%s' has encoding %s, expected %s", name, c.pq->getvalue(r, 0, 1), enc);
	}
	c.pq->clear(r);
	json_t *want = json_object_get(p, "extensions");
	if (exists && !*why && json_array_size(want)) {
		struct pg_conn d;
		if ((rc = pg_connect(&d, req, name, false)))
			goto out_close;
		PGresult *e = pg_query(&d, req, "cannot read pg_extension", "SELECT extname FROM pg_extension", 0, NULL);
		size_t i;
		json_t *x;
		json_array_foreach(want, i, x) {
			bool found = false;
			for (int k = 0; e && k < d.pq->ntuples(e) && !found; k++)
				found = !strcmp(d.pq->getvalue(e, k, 0), json_string_value(x));
			if (e && !found && !*why)
				snprintf(why, sizeof(why), "extension '%s' is missing from database '%s'", json_string_value(x), name);
		}
		if (e)
			d.pq->clear(e);
		pg_close(&d);
		if (!e) {
			rc = CRATIS_EIO;
			goto out_close;
		}
	}
	rc = observed(out, exists, *why ? why : NULL);
out_close:
	pg_close(&c);
out_free:
	json_decref(p);
	return rc;
}

/* ---- Role ---- */

static int role_validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = spec_parse(req, 0);
	int rc = pg_validate_system(req);
	if (!rc)
		rc = check_type(req, s, "name", is_string, "a role name (a string)");
	if (!rc && !ident_ok(object_name(req, s))) {
		host->error(req->call, "spec.name", "the role name must be 1 to 63 bytes");
		rc = CRATIS_EINVAL;
	}
	if (!rc)
		rc = check_type(req, s, "login", is_bool, "true or false");
	if (!rc)
		rc = check_type(req, s, "password", is_string, "a string, usually \"${secret:NAME}\"");
	if (!rc)
		rc = check_type(req, s, "inRoles", is_name_list, "a list of role names");
	if (!rc)
		rc = check_type(req, s, "connectionLimit", is_int, "an integer (-1: no limit)");
	if (!rc && json_integer_value(json_object_get(s, "connectionLimit")) < -1) {
		host->error(req->call, "spec.connectionLimit", "expected -1 (no limit) or more");
		rc = CRATIS_EINVAL;
	}
	json_decref(s);
	return rc;
}

static int role_apply(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *s = spec_parse(req, 0), *p = spec_parse(req, 1);
	const char *name = object_name(req, s), *password = spec_str(s, "password", NULL);
	bool login = json_is_true(json_object_get(s, "login"));
	json_int_t limit = json_is_integer(json_object_get(s, "connectionLimit")) ? json_integer_value(json_object_get(s, "connectionLimit")) : -1;
	struct pg_conn c;
	char *qn = NULL, *sql = NULL, *verifier = NULL;
	int rc = pg_connect(&c, req, NULL, false);
	if (rc)
		goto out_free;
	rc = CRATIS_EIO;
	if (!(qn = pg_ident(&c, req, name)))
		goto out_close;
	const char *pv[1] = { name };
	PGresult *r = pg_query(&c, req, "cannot read pg_roles", "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, pv);
	if (!r)
		goto out_close;
	bool exists = c.pq->ntuples(r) > 0;
	c.pq->clear(r);
	/* the password is hashed here (SCRAM, as the server's password_encryption says), so that its
	 * clear text never reaches the server nor its statement log */
	char *lit = NULL;
	if (password) {
		char *enc = c.pq->encrypt_password_conn(c.db, password, name, NULL);
		if (!enc) {
			host->error(req->call, "spec.password", "cannot hash the password: %s", c.pq->error_message(c.db));
			goto out_close;
		}
		lit = c.pq->escape_literal(c.db, enc, strlen(enc));
		c.pq->freemem(enc);
		if (!lit)
			goto out_close;
		verifier = strdup(lit);
		c.pq->freemem(lit);
	}
	if (asprintf(&sql, "%s ROLE %s WITH %s CONNECTION LIMIT %" JSON_INTEGER_FORMAT " %s%s", exists ? "ALTER" : "CREATE", qn,
	             login ? "LOGIN" : "NOLOGIN", limit, verifier ? "PASSWORD " : "", verifier ? verifier : "") < 0) {
		sql = NULL;
		goto out_close;
	}
	if (pg_run(&c, req, exists ? "cannot alter the role" : "cannot create the role", sql, 0, NULL))
		goto out_close;
	if (!exists)
		host->log(req->call, CRATIS_LOG_INFO, "created role %s", qn);
	/* membership: granted as listed, revoked when no longer listed */
	json_t *want = json_object_get(s, "inRoles"), *had = json_object_get(p, "inRoles");
	size_t i;
	json_t *x;
	int grc = CRATIS_OK;
	json_array_foreach(want, i, x) {
		char *q = pg_ident(&c, req, json_string_value(x)), *g = NULL;
		if (!q || asprintf(&g, "GRANT %s TO %s", q, qn) < 0 || pg_run(&c, req, "cannot grant the role", g, 0, NULL))
			grc = CRATIS_EIO;
		free(q);
		free(g);
		if (grc)
			goto out_close;
	}
	json_array_foreach(had, i, x) {
		if (in_list(want, json_string_value(x)))
			continue;
		const char *rv[1] = { json_string_value(x) };
		PGresult *e = pg_query(&c, req, "cannot read pg_roles", "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, rv);
		bool there = e && c.pq->ntuples(e) > 0;
		if (e)
			c.pq->clear(e);
		char *q = there ? pg_ident(&c, req, json_string_value(x)) : NULL, *g = NULL;
		if (there && (!q || asprintf(&g, "REVOKE %s FROM %s", q, qn) < 0 || pg_run(&c, req, "cannot revoke the role", g, 0, NULL)))
			grc = CRATIS_EIO;
		free(q);
		free(g);
		if (grc || !e)
			goto out_close;
	}
	rc = reply(req, out, json_pack("{s:{s:s}}", "outputs", "name", name));
out_close:
	pg_close(&c);
out_free:
	if (verifier) {
		memset(verifier, 0, strlen(verifier));
		free(verifier);
	}
	if (sql) {
		memset(sql, 0, strlen(sql));
		free(sql);
	}
	free(qn);
	json_decref(s);
	json_decref(p);
	return rc;
}

static int role_destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *p = spec_parse(req, 1);
	struct pg_conn c;
	char *qn = NULL, *sql = NULL;
	int rc = pg_connect(&c, req, NULL, false);
	if (rc)
		goto out_free;
	rc = CRATIS_EIO;
	if ((qn = pg_ident(&c, req, object_name(req, p))) && asprintf(&sql, "DROP ROLE IF EXISTS %s", qn) >= 0 &&
	    !pg_run(&c, req, "cannot drop the role", sql, 0, NULL))
		rc = CRATIS_OK;
	pg_close(&c);
out_free:
	free(qn);
	free(sql);
	json_decref(p);
	return rc;
}

static int role_observe(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *p = spec_parse(req, 1);
	const char *name = object_name(req, p);
	struct pg_conn c;
	int rc = pg_connect(&c, req, NULL, false);
	if (rc)
		goto out_free;
	const char *pv[1] = { name };
	PGresult *r = pg_query(&c, req, "cannot read pg_roles",
	                       "SELECT r.rolcanlogin, r.rolconnlimit, coalesce((SELECT string_agg(b.rolname, ',' ORDER BY b.rolname) "
	                       "FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid), '') "
	                       "FROM pg_roles r WHERE r.rolname = $1", 1, pv);
	if (!r) {
		rc = CRATIS_EIO;
		goto out_close;
	}
	char why[512] = "";
	bool exists = c.pq->ntuples(r) > 0;
	if (!exists) {
		snprintf(why, sizeof(why), "role '%s' does not exist", name);
	} else {
		bool login = json_is_true(json_object_get(p, "login"));
		long limit = json_is_integer(json_object_get(p, "connectionLimit")) ? (long)json_integer_value(json_object_get(p, "connectionLimit")) : -1;
		const char *members = c.pq->getvalue(r, 0, 2);
		if ((c.pq->getvalue(r, 0, 0)[0] == 't') != login)
			snprintf(why, sizeof(why), "role '%s' is %s, expected %s", name, login ? "NOLOGIN" : "LOGIN", login ? "LOGIN" : "NOLOGIN");
		else if (strtol(c.pq->getvalue(r, 0, 1), NULL, 10) != limit)
			snprintf(why, sizeof(why), "role '%s' has connection limit %s, expected %ld", name, c.pq->getvalue(r, 0, 1), limit);
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(p, "inRoles"), i, x) {
			/* members is "a,b,c": look for the whole name */
			const char *want = json_string_value(x);
			size_t wl = strlen(want);
			bool found = false;
			for (const char *m = members; *m && !found;) {
				const char *comma = strchr(m, ',');
				size_t ml = comma ? (size_t)(comma - m) : strlen(m);
				found = ml == wl && !strncmp(m, want, wl);
				m += ml + (comma ? 1 : 0);
			}
			if (!found && !*why)
				snprintf(why, sizeof(why), "role '%s' is not a member of '%s'", name, want);
		}
	}
	c.pq->clear(r);
	rc = observed(out, exists, *why ? why : NULL);
out_close:
	pg_close(&c);
out_free:
	json_decref(p);
	return rc;
}

/* ---- registration ---- */

#define F(path, type, help, def, req) { sizeof(struct cratis_field), path, type, help, def, req }

static const struct cratis_field system_fields[] = {
	F("spec.host", "string", "server host name or address, or a unix socket directory", "libpq's default (PGHOST, local socket)", 0),
	F("spec.port", "integer", "server port", "5432", 0),
	F("spec.database", "string", "the database cratis connects to for Database and Role", "postgres", 0),
	F("spec.user", "string", "the role cratis logs in as (creates databases and roles)", "libpq's default (PGUSER, the OS user)", 0),
	F("spec.sslmode", "string", "libpq sslmode: disable, prefer, require, verify-full...", "prefer", 0),
	F("spec.auth.password", "object", "reference to the password: {secret: NAME}, {fromEnv: VAR} or {fromFile: PATH}", "libpq's own (PGPASSWORD, ~/.pgpass)", 0),
	{ 0 },
};
static const struct cratis_field database_fields[] = {
	F("spec.name", "string", "the database name", "metadata.name", 0),
	F("spec.owner", "string", "the owning role", "the System's user", 0),
	F("spec.encoding", "string", "character set (cannot change: a change replaces the database)", "UTF8", 0),
	F("spec.extensions", "array", "extensions created in the database (CREATE EXTENSION)", NULL, 0),
	F("spec.deletionProtection", "boolean", "refuse to drop the database while it holds tables", "true", 0),
	{ 0 },
};
static const struct cratis_field role_fields[] = {
	F("spec.name", "string", "the role name", "metadata.name", 0),
	F("spec.login", "boolean", "the role may log in", "false", 0),
	F("spec.password", "string", "its password, as ${secret:NAME} (sent hashed: SCRAM)", NULL, 0),
	F("spec.inRoles", "array", "roles it is a member of (GRANT ... TO)", NULL, 0),
	F("spec.connectionLimit", "integer", "concurrent connections allowed, -1 for no limit", "-1", 0),
	{ 0 },
};
static const struct cratis_field migration_fields[] = {
	F("spec.database", "string", "the database migrated: its name or ${Database/NAME.outputs.name}", NULL, 1),
	F("spec.path", "string", "folder of V<version>__<description>.sql and R__<description>.sql files", NULL, 1),
	{ 0 },
};

static const struct cratis_ops system_ops = {
	.size = sizeof(struct cratis_ops), .validate = system_validate, .apply = system_apply, .destroy = system_destroy,
};
static const struct cratis_ops database_ops = {
	.size = sizeof(struct cratis_ops), .validate = database_validate, .plan = database_plan, .apply = database_apply,
	.destroy = database_destroy, .observe = database_observe,
};
static const struct cratis_ops role_ops = {
	.size = sizeof(struct cratis_ops), .validate = role_validate, .apply = role_apply, .destroy = role_destroy,
	.observe = role_observe,
};
static const struct cratis_ops migration_ops = {
	.size = sizeof(struct cratis_ops), .validate = migration_validate, .plan = migration_plan,
	.apply = migration_apply, .destroy = migration_destroy, .observe = migration_observe,
};
static const char *const versions[] = { "v1", NULL };
/* Kind System of group postgres: the fields of a `System` with `spec.type: postgres`. cratis
 * takes a System type as implemented when some plugin registers kind System in the group of
 * that name (docs/plugins.md, "System types"). */
static const struct cratis_handler handlers[] = {
	{ sizeof(struct cratis_handler), "postgres", "System", versions, &system_ops, NULL, system_fields },
	{ sizeof(struct cratis_handler), "postgres", "Database", versions, &database_ops, NULL, database_fields },
	{ sizeof(struct cratis_handler), "postgres", "Role", versions, &role_ops, NULL, role_fields },
	{ sizeof(struct cratis_handler), "postgres", "Migration", versions, &migration_ops, NULL, migration_fields },
};

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *h,
                                            struct cratis_plugin_ctx *ctx)
{
	if (abi_major != CRATIS_ABI_MAJOR)
		return CRATIS_EABI;
	if (!CRATIS_HOST_HAS(h, secret))
		return CRATIS_EABI; /* needs ABI 1.2: the request's System and host->secret */
	pg_host = h;
	int rc = ctx->set_info(ctx, CRATIS_ABI_MAJOR, "postgres", "0.1.0", NULL, NULL);
	for (size_t i = 0; !rc && i < sizeof(handlers) / sizeof(handlers[0]); i++)
		rc = ctx->register_handler(ctx, &handlers[i]);
	return rc;
}
