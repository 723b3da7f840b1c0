/* PostgreSQL backend: releases of Rollouts and the port allocator (src/state/store.h, "releases"). */
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

/* ---- releases ---- */

/* Insert or update the n releases of v; the caller holds s->mu and a transaction. */
static int pg_put_rows(struct pg_store *s, const struct release *v, size_t n, const char *now)
{
	int rc = CRATIS_OK;
	char port[24], retire[24];
	for (size_t i = 0; i < n && !rc; i++) {
		const struct release *r = &v[i];
		const char *p[12] = { r->environment, r->project, r->rollout, r->id, r->colour, pg_i64(port, r->port), r->spec, r->status,
		                      r->stage, r->log, now, pg_i64(retire, r->retire_at) };
		rc = pg_q(s, NULL, "INSERT INTO releases (environment, project, rollout, id, colour, port, spec, status, stage, log, created, updated, retire_at)"
		                 " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11,$12)"
		                 " ON CONFLICT (environment, project, rollout, id) DO UPDATE SET colour=$5, port=$6, spec=$7, status=$8,"
		                 " stage=$9, log=$10, updated=$11, retire_at=$12",
		        12, p, "record release");
	}
	return rc;
}

int pg_release_put(struct store *st, const struct release *v, size_t n, const struct store_emits *em)
{
	struct pg_store *s = P(st);
	char now[32];
	pg_now_text(s, now);
	pthread_mutex_lock(&s->mu);
	int rc = pg_db_ready(s);
	if (!rc)
		rc = pg_begin(s);
	if (!rc)
		rc = pg_put_rows(s, v, n, now);
	if (!rc)
		rc = pg_insert_emits(s, em, &(struct store_emit_info){ 0 });
	rc = pg_end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int pg_release_allocate(struct store *st, struct release *r, const struct port_range *range)
{
	struct pg_store *s = P(st);
	char now[32];
	pg_now_text(s, now);
	pthread_mutex_lock(&s->mu);
	PGresult *res = NULL;
	int *ports = NULL;
	bool *retired = NULL;
	int rc = pg_db_ready(s);
	if (!rc)
		rc = pg_begin(s);
	/* one allocator at a time: other writers of releases wait until this transaction ends */
	if (!rc)
		rc = pg_q(s, NULL, "LOCK TABLE releases IN SHARE ROW EXCLUSIVE MODE", 0, NULL, "allocate a release port");
	if (!rc)
		rc = pg_q(s, &res, "SELECT port, bool_and(status = 'retired')::int FROM releases WHERE port > 0 AND status NOT IN ('failed','aborted')"
		                 " GROUP BY port", 0, NULL, "allocate a release port");
	int n = rc ? 0 : PQntuples(res);
	if (n > 0) {
		ports = xcalloc((size_t)n, sizeof(*ports));
		retired = xcalloc((size_t)n, sizeof(*retired));
	}
	for (int i = 0; i < n; i++) {
		ports[i] = (int)pg_ival(res, i, 0);
		retired[i] = pg_ival(res, i, 1) != 0;
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
	rc = pg_end_tx(s, rc);
	pthread_mutex_unlock(&s->mu);
	free(ports);
	free(retired);
	return rc;
}

int pg_releases(struct store *st, const char *environment, const char *project, const char *rollout,
                       struct releases *out)
{
	struct pg_store *s = P(st);
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	const char *p[3] = { environment, project, rollout };
	int rc = pg_db_ready(s);
	if (!rc)
		rc = pg_q(s, &r, "SELECT environment, project, rollout, id, colour, port, spec, status, stage, log, created, updated, retire_at"
		               " FROM releases WHERE environment = $1 AND project = $2 AND rollout = $3 ORDER BY seq DESC",
		        3, p, "list releases");
	int n = rc ? 0 : PQntuples(r);
	if (n > 0) {
		out->v = xcalloc((size_t)n, sizeof(*out->v));
		out->n = out->alloc = (size_t)n;
	}
	for (int i = 0; i < n; i++) {
		struct release *x = &out->v[i];
		x->environment = pg_valr(r, i, 0);
		x->project = pg_valr(r, i, 1);
		x->rollout = pg_valr(r, i, 2);
		x->id = pg_valr(r, i, 3);
		x->colour = pg_val(r, i, 4);
		x->port = (int)pg_ival(r, i, 5);
		x->spec = pg_val(r, i, 6);
		x->status = pg_val(r, i, 7);
		x->stage = pg_val(r, i, 8);
		x->log = pg_val(r, i, 9);
		x->created = pg_val(r, i, 10);
		x->updated = pg_val(r, i, 11);
		x->retire_at = pg_ival(r, i, 12);
	}
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}
