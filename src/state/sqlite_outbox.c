/* SQLite backend: the event outbox (docs/events.md, docs/state.md "The event outbox"). */
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

/* ---- the event outbox ---- */

#define EVENT_COLS "e.seq, e.id, e.source, e.type, e.subject, e.time, e.data"

static void fill_event(struct cloud_event *e, sqlite3_stmt *q)
{
	memset(e, 0, sizeof(*e));
	e->seq = sqlite3_column_int64(q, 0);
	e->id = sq_colr(q, 1);
	e->source = sq_colr(q, 2);
	e->type = sq_colr(q, 3);
	e->subject = sq_col(q, 4);
	e->time = sq_colr(q, 5);
	e->data = sq_col(q, 6);
	e->datacontenttype = e->data ? xstrdup("application/json") : NULL;
}

int sq_events(struct store *st, const struct event_query *eq, struct store_events *out)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "SELECT " EVENT_COLS " FROM events e WHERE e.seq > ?1 AND (?2 IS NULL OR e.time >= ?2)"
	                     " AND (?3 IS NULL OR e.id = ?3) ORDER BY e.seq", "list events");
	if (rc)
		goto out_unlock;
	if (sq_bind_i64(q, 1, eq->after_seq) | sq_bind_text(q, 2, eq->since) | sq_bind_text(q, 3, eq->id)) {
		rc = sq_db_error(s, "list events");
		goto out_finalize;
	}
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		fill_event(&out->v[out->n++], q);
	}
	if (r != SQLITE_DONE)
		rc = sq_db_error(s, "list events");
out_finalize:
	sqlite3_finalize(q);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int sq_deliveries(struct store *st, const char *sink, size_t limit, struct event_deliveries *out)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "SELECT " EVENT_COLS ", d.attempts, d.first_attempt, d.next_attempt FROM events e"
	                     " LEFT JOIN deliveries d ON d.sink = ?1 AND d.seq = e.seq"
	                     " WHERE d.status IS NULL OR d.status = 'pending' ORDER BY e.seq LIMIT ?2", "list pending deliveries");
	if (rc)
		goto out_unlock;
	if (sq_bind_text(q, 1, sink) | sq_bind_i64(q, 2, limit ? (int64_t)limit : -1)) {
		rc = sq_db_error(s, "list pending deliveries");
		goto out_finalize;
	}
	int r;
	while ((r = sqlite3_step(q)) == SQLITE_ROW) {
		ALLOC_GROW(out->v, out->n + 1, out->alloc);
		struct event_delivery *d = &out->v[out->n++];
		fill_event(&d->ev, q);
		d->attempts = sqlite3_column_int(q, 7);
		d->first_attempt_ms = sqlite3_column_int64(q, 8);
		d->next_attempt_ms = sqlite3_column_int64(q, 9);
	}
	if (r != SQLITE_DONE)
		rc = sq_db_error(s, "list pending deliveries");
out_finalize:
	sqlite3_finalize(q);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static const char *const delivery_status_names[] = { "pending", "delivered", "dead", "skipped" };

int sq_delivery_mark(struct store *st, const char *sink, const struct delivery_mark *m, size_t n)
{
	struct sqlite_store *s = S(st);
	char now[32];
	cloud_event_format_time(store_now(st), now);
	const char *last_error = NULL;
	bool delivered_any = false;
	pthread_mutex_lock(&s->mu);
	int rc = sq_begin(s);
	if (rc)
		goto out_unlock;
	sqlite3_stmt *q;
	if ((rc = sq_prep(s, &q, "INSERT OR REPLACE INTO deliveries (sink, seq, status, attempts, first_attempt, next_attempt, last_error, delivered)"
	                      " VALUES (?,?,?,?,?,?,?,?)", "mark delivery")))
		goto out_end;
	for (size_t i = 0; i < n && !rc; i++) {
		bool delivered = m[i].status == DELIVERY_DELIVERED;
		sqlite3_reset(q);
		int b = sq_bind_text(q, 1, sink) | sq_bind_i64(q, 2, m[i].seq) | sq_bind_text(q, 3, delivery_status_names[m[i].status]) |
		        sqlite3_bind_int(q, 4, m[i].attempts) | sq_bind_i64(q, 5, m[i].first_attempt_ms) |
		        sq_bind_i64(q, 6, m[i].next_attempt_ms) | sq_bind_text(q, 7, m[i].error) | sq_bind_text(q, 8, delivered ? now : NULL);
		if (b != SQLITE_OK || sqlite3_step(q) != SQLITE_DONE)
			rc = sq_db_error(s, "mark delivery");
		delivered_any |= delivered;
		if (!delivered && m[i].status != DELIVERY_SKIPPED && m[i].error)
			last_error = m[i].error;
	}
	sqlite3_finalize(q);
	if (rc || (!delivered_any && !last_error))
		goto out_end;
	if ((rc = sq_prep(s, &q, "INSERT INTO sinks (name, last_error, last_delivered) VALUES (?1, ?2, ?3)"
	                      " ON CONFLICT (name) DO UPDATE SET last_error = COALESCE(?2, last_error), last_delivered = COALESCE(?3, last_delivered)",
	               "record sink state")))
		goto out_end;
	rc = sq_run_stmt(s, q, sq_bind_text(q, 1, sink) | sq_bind_text(q, 2, last_error) | sq_bind_text(q, 3, delivered_any ? now : NULL),
	              "record sink state");
out_end:
	rc = sq_end_tx(s, rc);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int sq_sink_set_disabled(struct store *st, const char *sink, bool disabled, const char *reason)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "INSERT INTO sinks (name, disabled, reason) VALUES (?1, ?2, ?3)"
	                     " ON CONFLICT (name) DO UPDATE SET disabled = ?2, reason = ?3", "disable sink");
	if (!rc)
		rc = sq_run_stmt(s, q, sq_bind_text(q, 1, sink) | sqlite3_bind_int(q, 2, disabled) | sq_bind_text(q, 3, disabled ? reason : NULL),
		              "disable sink");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int sq_sink_status(struct store *st, const char *sink, struct store_sink_status *out)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	int rc = sq_prep(s, &q, "SELECT (SELECT disabled FROM sinks WHERE name = ?1), (SELECT reason FROM sinks WHERE name = ?1),"
	                     " (SELECT last_error FROM sinks WHERE name = ?1), (SELECT last_delivered FROM sinks WHERE name = ?1),"
	                     " (SELECT count(*) FROM events e LEFT JOIN deliveries d ON d.sink = ?1 AND d.seq = e.seq"
	                     "  WHERE d.status IS NULL OR d.status = 'pending'),"
	                     " (SELECT count(*) FROM deliveries WHERE sink = ?1 AND status = 'delivered'),"
	                     " (SELECT count(*) FROM deliveries WHERE sink = ?1 AND status = 'dead')", "read sink state");
	if (rc)
		goto out_unlock;
	if (sq_bind_text(q, 1, sink) != SQLITE_OK || sqlite3_step(q) != SQLITE_ROW) {
		rc = sq_db_error(s, "read sink state");
	} else {
		out->disabled = sqlite3_column_int(q, 0) != 0;
		out->reason = sq_col(q, 1);
		out->last_error = sq_col(q, 2);
		out->last_delivered = sq_col(q, 3);
		out->backlog = sqlite3_column_int64(q, 4);
		out->delivered = sqlite3_column_int64(q, 5);
		out->dead = sqlite3_column_int64(q, 6);
	}
	sqlite3_finalize(q);
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int sq_redeliver(struct store *st, const char *sink, const char *event_id, const char *since, size_t *n)
{
	struct sqlite_store *s = S(st);
	pthread_mutex_lock(&s->mu);
	sqlite3_stmt *q;
	/* no row is pending with no attempts: deleting the rows makes them pending again */
	int rc = sq_prep(s, &q, "DELETE FROM deliveries WHERE (?1 IS NULL OR sink = ?1) AND seq IN"
	                     " (SELECT seq FROM events WHERE (?2 IS NULL OR id = ?2) AND (?3 IS NULL OR time >= ?3))", "redeliver");
	if (!rc)
		rc = sq_run_stmt(s, q, sq_bind_text(q, 1, sink) | sq_bind_text(q, 2, event_id) | sq_bind_text(q, 3, since), "redeliver");
	if (!rc)
		*n = (size_t)sqlite3_changes(s->db);
	pthread_mutex_unlock(&s->mu);
	return rc;
}
