/* Private to the built-in `postgres` plugin (plugins/postgres): libpq opened on first use, the
 * connection to a System of type postgres, and the helpers its kinds share. */
#ifndef CRATIS_PLUGIN_PG_H
#define CRATIS_PLUGIN_PG_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "../common/lazylib.h"
#include "../common/spec.h"

/* The functions of libpq the plugin calls (field, symbol). */
#define PQ_FUNCTIONS(X)                                  \
	X(connectdb_params, PQconnectdbParams)           \
	X(status, PQstatus)                              \
	X(error_message, PQerrorMessage)                 \
	X(finish, PQfinish)                              \
	X(exec, PQexec)                                  \
	X(exec_params, PQexecParams)                     \
	X(result_status, PQresultStatus)                 \
	X(result_error_message, PQresultErrorMessage)    \
	X(result_error_field, PQresultErrorField)        \
	X(clear, PQclear)                                \
	X(ntuples, PQntuples)                            \
	X(getvalue, PQgetvalue)                          \
	X(getisnull, PQgetisnull)                        \
	X(escape_identifier, PQescapeIdentifier)         \
	X(escape_literal, PQescapeLiteral)               \
	X(freemem, PQfreemem)                            \
	X(encrypt_password_conn, PQencryptPasswordConn)  \
	X(set_notice_processor, PQsetNoticeProcessor)

struct pq_table {
	struct lazylib lib;
	PQ_FUNCTIONS(LAZYLIB_FIELD)
};

/* The host, set once by cratis_plugin_init before any op runs. */
extern const struct cratis_host *pg_host;

/* A connection to a database of the request's System. */
struct pg_conn {
	const struct pq_table *pq;
	PGconn *db;
};

/* Connect to database dbname (NULL: the System's spec.database, else "postgres") of the
 * request's System (host, port, user, sslmode, auth.password: a reference resolved with
 * host->secret, wiped after use). On success c->db is open (close with pg_close). Returns
 * CRATIS_OK; CRATIS_ENOTFOUND when libpq cannot be loaded; CRATIS_EINVAL when the request's
 * System is not of type postgres; CRATIS_EIO when the server refuses or cannot be reached, the
 * error set on the request naming host, port and database (never the password). When missing_ok
 * and the server says the database does not exist, returns CRATIS_ENOTFOUND without an error. */
int pg_connect(struct pg_conn *c, const struct cratis_request *req, const char *dbname, bool missing_ok);

/* Close c (no-op when not open). */
void pg_close(struct pg_conn *c);

/* Run sql with text parameters params[0..n) (NULL values are SQL NULL). Returns the result
 * (free with c->pq->clear) when it succeeded; NULL after setting the request's error to
 * "what: server message" otherwise. */
PGresult *pg_query(struct pg_conn *c, const struct cratis_request *req, const char *what, const char *sql, int n,
                   const char *const *params);

/* pg_query for a command whose result is not needed: CRATIS_OK or CRATIS_EIO. */
int pg_run(struct pg_conn *c, const struct cratis_request *req, const char *what, const char *sql, int n,
           const char *const *params);

/* name as a quoted SQL identifier in a heap string (free with free), or NULL (error set). */
char *pg_ident(struct pg_conn *c, const struct cratis_request *req, const char *name);

/* The System checks shared by every kind's validate: the request's System must have type
 * postgres. Returns CRATIS_OK or CRATIS_EINVAL with the error set at spec.system. */
int pg_validate_system(const struct cratis_request *req);

/* Migration ops (migrate.c). */
int migration_validate(void *data, const struct cratis_request *req, char **out);
int migration_plan(void *data, const struct cratis_request *req, char **out);
int migration_apply(void *data, const struct cratis_request *req, char **out);
int migration_destroy(void *data, const struct cratis_request *req, char **out);
int migration_observe(void *data, const struct cratis_request *req, char **out);

#endif
