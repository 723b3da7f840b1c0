/* SQLite backend: releases of Rollouts and the port allocator (src/state/store.h, "releases"). */
#define _GNU_SOURCE
#include "sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cratis/plugin.h"
#include "events/event.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

/* ---- releases ---- */

/* Insert or update the n releases of v; the caller holds s->mu and a transaction. */
static int sq_put_rows(struct sqlite_store *s, const struct release *v, size_t n, const char *now)
{
	int rc = CRATIS_OK;
	for (size_t i = 0; i < n && !rc; i++) {
		const struct release *r = &v[i];
		sqlite3_stmt *q;
		rc = sq_prep(s, &q, "INSERT INTO releases (environment, project, rollout, id, colour, port, spec, status, stage, log, created, updated, retire_at)"
		                 " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?11,?12)"
		                 " ON CONFLICT (environment, project, rollout, id) DO UPDATE SET colour=?5, port=?6, spec=?7, status=?8,"
		                 " stage=?9, log=?10, updated=?11, retire_at=?12", "record release");
		if (!rc)
			rc = sq_run_stmt(s, q,
			              sq_bind_text(q, 1, r->environment) | sq_bind_text(q, 2, r->project) | sq_bind_text(q, 3, r->rollout) |
			              sq_bind_text(q, 4, r->id) | sq_bind_text(q, 5, r->colour) | sqlite3_bind_int(q, 6, r->port) |
			              sq_bind_text(q, 7, r->spec) | sq_bind_text(q, 8, r->status) | sq_bind_text(q, 9, r->stage) |
			              sq_bind_text(q, 10, r->log) | sq_bind_text(q, 11, now) | sq_bind_i64(q, 12, r->retire_at),
			              "record release");
	}
	return rc;
}

int sq_release_put(struct store *st, const struct release *v, size_t n, const struct store_emits *em)
{
	struct sqlite_store *s = S(st);
	char now[32];
	sq_now_text(s, now);
	pthread_mutex_lock(&s->mu);
	int rc = sq_begin(s);
	if (!rc)
		rc = sq_put_rows(s, v, n, now);
	if (!rc)
		rc = sq_insert_emits(s, em, &(struct store_emit_info){ 0 });
	rc = sq_end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int sq_release_allocate(struct store *st, struct release *r, const struct port_range *range)
{
	struct sqlite_store *s = S(st);
	char now[32];
	sq_now_text(s, now);
	pthread_mutex_lock(&s->mu);
	int *ports = NULL;
	bool *retired = NULL;
	size_t n = 0, alloc = 0, aret = 0;
	int rc = sq_begin(s); /* BEGIN IMMEDIATE: one allocator at a time across processes */
	sqlite3_stmt *q = NULL;
	if (!rc)
		rc = sq_prep(s, &q, "SELECT port, min(status = 'retired') FROM releases WHERE port > 0 AND status NOT IN ('failed','aborted')"
		                 " GROUP BY port", "allocate a release port");
	int x = SQLITE_DONE;
	while (!rc && (x = sqlite3_step(q)) == SQLITE_ROW) {
		ALLOC_GROW(ports, n + 1, alloc);
		ALLOC_GROW(retired, n + 1, aret);
		ports[n] = sqlite3_column_int(q, 0);
		retired[n++] = sqlite3_column_int(q, 1) != 0;
	}
	if (!rc && x != SQLITE_DONE)
		rc = sq_db_error(s, "allocate a release port");
	sqlite3_finalize(q);
	if (!rc) {
		int port = store_port_pick(ports, retired, n, range);
		if (!port)
			rc = error_set(CRATIS_ENOTFOUND, "no release port left in %d-%d: %zu are held by releases recorded in state '%s', the rest are in use",
			               range->lo, range->hi, n, s->pub.path);
		else {
			r->port = port;
			rc = sq_put_rows(s, r, 1, now);
		}
	}
	rc = sq_end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	free(ports);
	free(retired);
	return rc;
}

int sq_releases(struct store *st, const char *environment, const char *project, const char *rollout,
                       struct releases *out)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "SELECT environment, project, rollout, id, colour, port, spec, status, stage, log, created, updated, retire_at"
	                     " FROM releases WHERE environment=? AND project=? AND rollout=? ORDER BY seq DESC", "list releases");
	if (rc)
		goto out_unlock;
	if (sq_bind_text(q, 1, environment) | sq_bind_text(q, 2, project) | sq_bind_text(q, 3, rollout)) {
		rc = sq_db_error(s, "list releases");
		goto out_finalize;
	}
	int x;
	while ((x = sqlite3_step(q)) == SQLITE_ROW) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		struct release *r = &out->v[out->n++];
		memset(r, 0, sizeof(*r));
		r->environment = sq_colr(q, 0);
		r->project = sq_colr(q, 1);
		r->rollout = sq_colr(q, 2);
		r->id = sq_colr(q, 3);
		r->colour = sq_col(q, 4);
		r->port = sqlite3_column_int(q, 5);
		r->spec = sq_col(q, 6);
		r->status = sq_col(q, 7);
		r->stage = sq_col(q, 8);
		r->log = sq_col(q, 9);
		r->created = sq_col(q, 10);
		r->updated = sq_col(q, 11);
		r->retire_at = sqlite3_column_int64(q, 12);
	}
	if (x != SQLITE_DONE)
		rc = sq_db_error(s, "list releases");
out_finalize:
	sqlite3_finalize(q);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}
