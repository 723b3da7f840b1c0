/* PostgreSQL backend: the event outbox (docs/events.md, docs/state.md "The event outbox"). */
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

/* ---- the event outbox ---- */

#define EVENT_COLS "e.seq, e.id, e.source, e.type, e.subject, e.time, e.data"

static void fill_event(struct cloud_event *e, const PGresult *r, int i)
{
	memset(e, 0, sizeof(*e));
	e->seq = pg_ival(r, i, 0);
	e->id = pg_valr(r, i, 1);
	e->source = pg_valr(r, i, 2);
	e->type = pg_valr(r, i, 3);
	e->subject = pg_val(r, i, 4);
	e->time = pg_valr(r, i, 5);
	e->data = pg_val(r, i, 6);
	e->datacontenttype = e->data ? xstrdup("application/json") : NULL;
}

int pg_events(struct store *st, const struct event_query *q, struct store_events *out)
{
	struct pg_store *s = P(st);
	char after[24];
	const char *p[3] = { pg_i64(after, q->after_seq), q->since, q->id };
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	int rc = pg_db_ready(s);
	if (!rc)
		rc = pg_q(s, &r, "SELECT " EVENT_COLS " FROM events e WHERE e.seq > $1::bigint AND ($2::text IS NULL OR e.time >= $2::text)"
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

int pg_deliveries(struct store *st, const char *sink, size_t limit, struct event_deliveries *out)
{
	struct pg_store *s = P(st);
	char lim[24];
	const char *p[2] = { sink, limit ? pg_i64(lim, (int64_t)limit) : NULL };
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	int rc = pg_db_ready(s);
	if (!rc)
		rc = pg_q(s, &r, "SELECT " EVENT_COLS ", d.attempts, d.first_attempt, d.next_attempt FROM events e"
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
		out->v[i].attempts = (int)pg_ival(r, i, 7);
		out->v[i].first_attempt_ms = pg_ival(r, i, 8);
		out->v[i].next_attempt_ms = pg_ival(r, i, 9);
	}
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static const char *const pg_delivery_status[] = { "pending", "delivered", "dead", "skipped" };

int pg_delivery_mark(struct store *st, const char *sink, const struct delivery_mark *m, size_t n)
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
	struct unit_stmt *x = pg_batch_add(b, "INSERT INTO deliveries (sink, seq, status, attempts, first_attempt, next_attempt, last_error, delivered)"
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
		x = pg_batch_add(b, "INSERT INTO sinks (name, last_error, last_delivered) VALUES ($1, $2, $3)"
		                 " ON CONFLICT (name) DO UPDATE SET last_error = COALESCE($2, sinks.last_error),"
		                 " last_delivered = COALESCE($3, sinks.last_delivered)");
		x->n = 3;
		x->params[0] = sink, x->params[1] = last_error, x->params[2] = delivered_any ? now : NULL;
	}
	pthread_mutex_lock(&s->mu);
	int rc = pg_db_ready(s);
	if (!rc)
		rc = pg_batch_run(s, b, "mark delivery");
	pthread_mutex_unlock(&s->mu);
	free(b);
	free(rows);
	return rc;
}

int pg_sink_set_disabled(struct store *st, const char *sink, bool disabled, const char *reason)
{
	struct pg_store *s = P(st);
	const char *p[3] = { sink, disabled ? "1" : "0", disabled ? reason : NULL };
	pthread_mutex_lock(&s->mu);
	int rc = pg_db_ready(s);
	if (!rc)
		rc = pg_q(s, NULL, "INSERT INTO sinks (name, disabled, reason) VALUES ($1, $2::integer, $3)"
		                 " ON CONFLICT (name) DO UPDATE SET disabled = $2::integer, reason = $3", 3, p, "disable sink");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int pg_sink_status(struct store *st, const char *sink, struct store_sink_status *out)
{
	struct pg_store *s = P(st);
	const char *p[1] = { sink };
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	int rc = pg_db_ready(s);
	if (!rc)
		rc = pg_q(s, &r, "SELECT (SELECT disabled FROM sinks WHERE name = $1::text), (SELECT reason FROM sinks WHERE name = $1::text),"
		               " (SELECT last_error FROM sinks WHERE name = $1::text), (SELECT last_delivered FROM sinks WHERE name = $1::text),"
		               " (SELECT count(*) FROM events e LEFT JOIN deliveries d ON d.sink = $1::text AND d.seq = e.seq"
		               "  WHERE d.status IS NULL OR d.status = 'pending'),"
		               " (SELECT count(*) FROM deliveries WHERE sink = $1::text AND status = 'delivered'),"
		               " (SELECT count(*) FROM deliveries WHERE sink = $1::text AND status = 'dead')", 1, p, "read sink state");
	if (!rc) {
		out->disabled = pg_ival(r, 0, 0) != 0;
		out->reason = pg_val(r, 0, 1);
		out->last_error = pg_val(r, 0, 2);
		out->last_delivered = pg_val(r, 0, 3);
		out->backlog = pg_ival(r, 0, 4);
		out->delivered = pg_ival(r, 0, 5);
		out->dead = pg_ival(r, 0, 6);
	}
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int pg_redeliver(struct store *st, const char *sink, const char *event_id, const char *since, size_t *n)
{
	struct pg_store *s = P(st);
	const char *p[3] = { sink, event_id, since };
	pthread_mutex_lock(&s->mu);
	PGresult *r = NULL;
	int rc = pg_db_ready(s);
	if (!rc)
		rc = pg_q(s, &r, "DELETE FROM deliveries WHERE ($1::text IS NULL OR sink = $1::text) AND seq IN"
		               " (SELECT seq FROM events WHERE ($2::text IS NULL OR id = $2::text) AND ($3::text IS NULL OR time >= $3::text))",
		        3, p, "redeliver");
	if (!rc)
		*n = (size_t)strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}
