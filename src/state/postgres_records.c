/* PostgreSQL backend: records (docs/state.md "Records"): each conditional write is one statement, race-free at READ COMMITTED. */
#define _GNU_SOURCE
#include "postgres_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cratis/plugin.h"
#include "events/event.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

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
	int rc = pg_q(s, &res, "SELECT revision FROM records WHERE kind=$1 AND scope=$2 AND name=$3", 3, p, "read record");
	if (rc)
		return rc;
	char *label = record_label(kind, scope, name);
	if (PQntuples(res) == 0)
		rc = error_set(CRATIS_ENOTFOUND, "state '%s': no %s", s->pub.path, label);
	else if (expect == 0)
		rc = error_set(CRATIS_EEXISTS, "state '%s': %s already exists (revision %lld)", s->pub.path, label, (long long)pg_ival(res, 0, 0));
	else
		rc = error_set(CRATIS_EEXISTS, "state '%s': %s is at revision %lld, not %lld: it changed since it was read", s->pub.path, label,
		               (long long)pg_ival(res, 0, 0), (long long)expect);
	free(label);
	PQclear(res);
	return rc;
}

int pg_record_put(struct store *st, struct record *r, int64_t expect, const struct store_emits *em)
{
	struct pg_store *s = P(st);
	char now[32], rev[24];
	pg_now_text(s, now);
	const char *p[6] = { r->kind, r->scope, r->name, r->body, now, pg_i64(rev, expect) };
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
	int rc = pg_db_ready(s);
	if (!rc)
		rc = pg_begin(s);
	if (!rc)
		rc = pg_q(s, &res, sql, expect > 0 ? 6 : 5, p, "write record");
	if (!rc && PQntuples(res) == 0)
		rc = record_refused(s, r->kind, r->scope, r->name, expect);
	int64_t revision = rc ? 0 : pg_ival(res, 0, 0);
	char *created = rc ? NULL : pg_valr(res, 0, 1);
	PQclear(res);
	if (!rc)
		rc = pg_insert_emits(s, em, &(struct store_emit_info){ 0 });
	rc = pg_end_tx(s, rc);
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
	r->kind = pg_valr(res, i, 0);
	r->scope = pg_valr(res, i, 1);
	r->name = pg_valr(res, i, 2);
	r->body = pg_valr(res, i, 3);
	r->revision = pg_ival(res, i, 4);
	r->created = pg_valr(res, i, 5);
	r->updated = pg_valr(res, i, 6);
}

int pg_record_get(struct store *st, const char *kind, const char *scope, const char *name, struct record *out)
{
	struct pg_store *s = P(st);
	memset(out, 0, sizeof(*out));
	const char *p[3] = { kind, scope, name };
	pthread_mutex_lock(&s->mu);
	PGresult *res = NULL;
	int rc = pg_db_ready(s);
	if (!rc)
		rc = pg_q(s, &res, "SELECT " RECORD_COLS " FROM records WHERE kind=$1 AND scope=$2 AND name=$3", 3, p, "read record");
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

int pg_records(struct store *st, const char *kind, const char *scope, struct records *out)
{
	struct pg_store *s = P(st);
	const char *p[2] = { kind, scope };
	pthread_mutex_lock(&s->mu);
	PGresult *res = NULL;
	int rc = pg_db_ready(s);
	if (!rc)
		rc = pg_q(s, &res, "SELECT " RECORD_COLS " FROM records WHERE kind=$1 AND ($2::text IS NULL OR scope=$2) ORDER BY scope, name", 2, p,
		        "list records");
	for (int i = 0; !rc && i < PQntuples(res); i++) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		fill_record(&out->v[out->n++], res, i);
	}
	PQclear(res);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int pg_record_delete(struct store *st, const char *kind, const char *scope, const char *name, int64_t expect,
                            const struct store_emits *em)
{
	struct pg_store *s = P(st);
	char rev[24];
	const char *p[4] = { kind, scope, name, pg_i64(rev, expect) };
	pthread_mutex_lock(&s->mu);
	PGresult *res = NULL;
	int rc = pg_db_ready(s);
	if (!rc)
		rc = pg_begin(s);
	if (!rc)
		rc = pg_q(s, &res, "DELETE FROM records WHERE kind=$1 AND scope=$2 AND name=$3 AND ($4::bigint < 0 OR revision=$4::bigint) RETURNING revision", 4,
		        p, "delete record");
	if (!rc && PQntuples(res) == 0)
		rc = record_refused(s, kind, scope, name, expect);
	PQclear(res);
	if (!rc)
		rc = pg_insert_emits(s, em, &(struct store_emit_info){ 0 });
	rc = pg_end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	return rc;
}
