/* SQLite backend: records (store_record_put and friends, src/state/store.h), the table of
 * migration 4. Each write is one BEGIN IMMEDIATE transaction: the revision check, the write and
 * the outbox events of em commit together. */
#define _GNU_SOURCE
#include "sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cratis/plugin.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

/* The recorded revision of (kind, scope, name) into *rev (0 when there is no such record) and its
 * created time into created (may be NULL). Caller holds s->mu. */
static int read_revision(struct sqlite_store *s, const char *kind, const char *scope, const char *name, int64_t *rev,
                         char **created)
{
	sqlite3_stmt *q;
	*rev = 0;
	int rc = sq_prep(s, &q, "SELECT revision, created FROM records WHERE kind=?1 AND scope=?2 AND name=?3", "read record");
	if (rc)
		return rc;
	if (sq_bind_text(q, 1, kind) | sq_bind_text(q, 2, scope) | sq_bind_text(q, 3, name)) {
		rc = sq_db_error(s, "read record");
	} else {
		int x = sqlite3_step(q);
		if (x == SQLITE_ROW) {
			*rev = sqlite3_column_int64(q, 0);
			if (created)
				*created = sq_colr(q, 1);
		} else if (x != SQLITE_DONE) {
			rc = sq_db_error(s, "read record");
		}
	}
	sqlite3_finalize(q);
	return rc;
}

/* CRATIS_OK when the recorded revision have allows a write expecting expect; else the error. */
static int check_expect(const struct sqlite_store *s, const char *kind, const char *scope, const char *name,
                        int64_t have, int64_t expect)
{
	if (expect == STORE_REV_ANY)
		return CRATIS_OK;
	if (expect == 0 && have)
		return error_set(CRATIS_EEXISTS, "state '%s': %s '%s%s%s' already exists (revision %lld)", s->pub.path, kind, scope,
		                 *scope ? "/" : "", name, (long long)have);
	if (expect > 0 && !have)
		return error_set(CRATIS_ENOTFOUND, "state '%s': no %s '%s%s%s'", s->pub.path, kind, scope, *scope ? "/" : "", name);
	if (expect > 0 && have != expect)
		return error_set(CRATIS_EEXISTS, "state '%s': %s '%s%s%s' is at revision %lld, not %lld: it changed since it was read",
		                 s->pub.path, kind, scope, *scope ? "/" : "", name, (long long)have, (long long)expect);
	return CRATIS_OK;
}

int sq_record_put(struct store *st, struct record *r, int64_t expect, const struct store_emits *em)
{
	struct sqlite_store *s = S(st);
	char now[32];
	sq_now_text(s, now);
	pthread_mutex_lock(&s->mu);
	int64_t have = 0;
	char *created = NULL;
	int rc = sq_begin(s);
	if (!rc)
		rc = read_revision(s, r->kind, r->scope, r->name, &have, &created);
	if (!rc)
		rc = check_expect(s, r->kind, r->scope, r->name, have, expect);
	sqlite3_stmt *q;
	if (!rc)
		rc = sq_prep(s, &q, "INSERT INTO records (kind, scope, name, body, revision, created, updated) VALUES (?1,?2,?3,?4,?5,?6,?6)"
		                    " ON CONFLICT (kind, scope, name) DO UPDATE SET body=?4, revision=?5, updated=?6", "write record");
	if (!rc)
		rc = sq_run_stmt(s, q,
		                 sq_bind_text(q, 1, r->kind) | sq_bind_text(q, 2, r->scope) | sq_bind_text(q, 3, r->name) |
		                 sq_bind_text(q, 4, r->body) | sq_bind_i64(q, 5, have + 1) | sq_bind_text(q, 6, now),
		                 "write record");
	if (!rc)
		rc = sq_insert_emits(s, em, &(struct store_emit_info){ 0 });
	rc = sq_end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	if (!rc) {
		r->revision = have + 1;
		free(r->updated);
		r->updated = xstrdup(now);
		free(r->created);
		r->created = created ? created : xstrdup(now);
		created = NULL;
	}
	free(created);
	return rc;
}

static void fill_record(struct record *r, sqlite3_stmt *q)
{
	memset(r, 0, sizeof(*r));
	r->kind = sq_colr(q, 0);
	r->scope = sq_colr(q, 1);
	r->name = sq_colr(q, 2);
	r->body = sq_colr(q, 3);
	r->revision = sqlite3_column_int64(q, 4);
	r->created = sq_colr(q, 5);
	r->updated = sq_colr(q, 6);
}

#define RECORD_COLS "kind, scope, name, body, revision, created, updated"

int sq_record_get(struct store *st, const char *kind, const char *scope, const char *name, struct record *out)
{
	struct sqlite_store *s = S(st);
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "SELECT " RECORD_COLS " FROM records WHERE kind=?1 AND scope=?2 AND name=?3", "read record");
	if (!rc) {
		if (sq_bind_text(q, 1, kind) | sq_bind_text(q, 2, scope) | sq_bind_text(q, 3, name)) {
			rc = sq_db_error(s, "read record");
		} else {
			int x = sqlite3_step(q);
			if (x == SQLITE_ROW)
				fill_record(out, q);
			else if (x == SQLITE_DONE)
				rc = error_set(CRATIS_ENOTFOUND, "state '%s': no %s '%s%s%s'", s->pub.path, kind, scope, *scope ? "/" : "", name);
			else
				rc = sq_db_error(s, "read record");
		}
		sqlite3_finalize(q);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int sq_records(struct store *st, const char *kind, const char *scope, struct records *out)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "SELECT " RECORD_COLS " FROM records WHERE kind=?1 AND (?2 IS NULL OR scope=?2) ORDER BY scope, name",
	                 "list records");
	if (!rc) {
		if (sq_bind_text(q, 1, kind) | sq_bind_text(q, 2, scope)) {
			rc = sq_db_error(s, "list records");
		} else {
			int x;
			while ((x = sqlite3_step(q)) == SQLITE_ROW) {
				ALLOC_GROW(out->v, out->n + 1, out->alloc);
				fill_record(&out->v[out->n++], q);
			}
			if (x != SQLITE_DONE)
				rc = sq_db_error(s, "list records");
		}
		sqlite3_finalize(q);
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int sq_record_delete(struct store *st, const char *kind, const char *scope, const char *name, int64_t expect,
                     const struct store_emits *em)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	int64_t have = 0;
	int rc = sq_begin(s);
	if (!rc)
		rc = read_revision(s, kind, scope, name, &have, NULL);
	if (!rc && !have)
		rc = error_set(CRATIS_ENOTFOUND, "state '%s': no %s '%s%s%s'", s->pub.path, kind, scope, *scope ? "/" : "", name);
	if (!rc)
		rc = check_expect(s, kind, scope, name, have, expect);
	sqlite3_stmt *q;
	if (!rc)
		rc = sq_prep(s, &q, "DELETE FROM records WHERE kind=?1 AND scope=?2 AND name=?3", "delete record");
	if (!rc)
		rc = sq_run_stmt(s, q, sq_bind_text(q, 1, kind) | sq_bind_text(q, 2, scope) | sq_bind_text(q, 3, name), "delete record");
	if (!rc)
		rc = sq_insert_emits(s, em, &(struct store_emit_info){ 0 });
	rc = sq_end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	return rc;
}
