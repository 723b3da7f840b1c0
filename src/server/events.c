/* The outbox over HTTP (docs/server.md "Events"): GET /v1/events (a page of CloudEvents with their
 * seq), GET /v1/events/stream (Server-Sent Events, polling the outbox, resumable with
 * Last-Event-ID), and the event dispatcher thread that delivers every registered project's
 * pending events to its sinks while the server runs. */
#define _GNU_SOURCE
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "banned.h"

#define EVENTS_LIMIT_DEFAULT 1000
#define EVENTS_LIMIT_MAX 10000
#define EVENTS_SCAN_MAX 100000      /* outbox events a filtered GET /v1/events reads at most */
#define STREAM_POLL_MS 250          /* how often a stream reads the outbox */
#define STREAM_BATCH 200            /* events read per poll */
#define STREAM_HEARTBEAT_S 15       /* a comment line after this long without an event */
#define DISPATCH_INTERVAL_MS 2000   /* between two passes of the dispatcher */
#define DISPATCH_TIMEOUT_MS 5000    /* the bound of one project's delivery in a pass */

/* Sleep ms in 50 ms steps; false as soon as the server is shutting down. */
static bool nap(struct server *s, int ms)
{
	for (int t = 0; t < ms && !atomic_load(s->o.cancel); t += 50) {
		struct timespec ts = { 0, 50 * 1000 * 1000L };
		nanosleep(&ts, NULL);
	}
	return !atomic_load(s->o.cancel);
}

/* Whether s is a sequence number (digits only, at most 18 of them); *seq gets it. */
static bool parse_seq(const char *s, long long *seq)
{
	if (!s || !*s || strlen(s) > 18)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	*seq = strtoll(s, NULL, 10);
	return true;
}

static void bad_param(struct req *r, const char *field, const char *expected, const char *got)
{
	struct diags d = DIAGS_INIT;
	diag_locate(diags_errorf(&d, CRATIS_EINVAL, "expected %s, got '%s'", expected, got), "query", 0, 0, field);
	reply_problem(r, 400, NULL, &d);
	diags_release(&d);
}

/* ---- per-project authorisation ---- */

/* Whether the subject of r may see event ev: the source /projects/P/environments/E is the object
 * "E/P" of (events, get) as the other routes name it ("_" where the source names no project or
 * environment); a source of another form is the object "". */
static bool event_visible(struct server *s, const struct token_subject *who, json_t *ev)
{
	const char *src = json_string_value(json_object_get(ev, "source"));
	char obj[300] = "";
	if (src && starts_with(src, "/projects/")) {
		const char *p = src + strlen("/projects/");
		const char *slash = strchr(p, '/');
		if (slash && starts_with(slash, "/environments/") && !strchr(slash + strlen("/environments/"), '/'))
			snprintf(obj, sizeof(obj), "%s/%.*s", slash + strlen("/environments/"), (int)(slash - p), p);
	}
	return authz_allows(&s->authz, who, "events", "get", obj);
}

/* ---- GET /v1/events ---- */

void h_events(struct req *r)
{
	/* a subject allowed the whole outbox (object "") reads it all; one allowed some projects'
	 * events reads those (event_visible); one allowed none is refused */
	bool all = authz_allows(&r->srv->authz, &r->who, "events", "get", "");
	if (!all && !req_authorize_some(r))
		return;
	const char *since = req_query(r, "since");
	const char *type = req_query(r, "type");
	const char *lim = req_query(r, "limit");
	long long seq = 0, limit = EVENTS_LIMIT_DEFAULT;
	if (lim && (!parse_seq(lim, &limit) || limit < 1 || limit > EVENTS_LIMIT_MAX))
		return bad_param(r, "limit", "a number from 1 to 10000", lim);
	/* since: a sequence number, or an RFC 3339 time (2026-12-01T12:00:00Z) */
	if (since && !parse_seq(since, &seq) && (strlen(since) < 20 || since[4] != '-' || since[10] != 'T'))
		return bad_param(r, "since", "a sequence number or an RFC 3339 time", since);
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *list = NULL;
	int rc = srv_open_app(r, NULL, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc && all)
		rc = app_events_list(a, since, type && *type ? type : NULL, (size_t)limit, &list, &d);
	/* filtered: read on page by page until limit visible events or the end of the outbox, at most
	 * EVENTS_SCAN_MAX events a request (a client pages on with since= the last seq it got) */
	char cursor[32];
	const char *from = since;
	for (size_t scanned = 0; !rc && !all && scanned < EVENTS_SCAN_MAX;) {
		json_t *page = NULL;
		if ((rc = app_events_list(a, from, type && *type ? type : NULL, (size_t)limit, &page, &d)))
			break;
		if (!list)
			list = json_array();
		size_t i;
		json_t *ev;
		json_array_foreach(page, i, ev) {
			if (json_array_size(list) < (size_t)limit && event_visible(r->srv, &r->who, ev))
				json_array_append(list, ev);
			snprintf(cursor, sizeof(cursor), "%lld", (long long)json_integer_value(json_object_get(ev, "seq")));
		}
		scanned += json_array_size(page);
		bool end = json_array_size(page) < (size_t)limit;
		json_decref(page);
		if (end || json_array_size(list) >= (size_t)limit)
			break;
		from = cursor;
	}
	if (rc)
		reply_diags(r, rc, &d);
	else
		reply_json(r, 200, list);
	srv_close_app(r, a);
	diags_release(&d);
}

/* ---- GET /v1/events/stream ---- */

struct sse {
	struct server *srv;
	struct req fake;              /* for srv_open_app / srv_close_app: srv only */
	struct app *a;                /* the store, opened on the handler's thread */
	char *type;                   /* filter, or NULL */
	struct token_subject who;     /* whose stream it is */
	bool all;                     /* who may see every event; else event_visible decides */
	long long after;              /* the last seq read (sent, or not visible to who) */
	int heartbeat_ms;
	int64_t last_write_ms;
	struct buf out;               /* what is still to be sent */
	size_t off;
	bool ended;
};

static void sse_event(struct sse *st, json_t *ev)
{
	char *data = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	const char *type = json_string_value(json_object_get(ev, "type"));
	long long seq = (long long)json_integer_value(json_object_get(ev, "seq"));
	/* a type has no newline (the store checks it); data is one line of JSON */
	buf_addf(&st->out, "id: %lld\nevent: %s\ndata: %s\n\n", seq, type ? type : "message", data ? data : "{}");
	free(data);
	if (seq > st->after)
		st->after = seq;
}

/* Read the outbox after st->after into st->out; false when the store failed (a comment says so). */
static bool sse_poll(struct sse *st)
{
	char num[32];
	snprintf(num, sizeof(num), "%lld", st->after);
	json_t *got = NULL;
	struct diags d = DIAGS_INIT;
	int rc = app_events_list(st->a, num, st->type, STREAM_BATCH, &got, &d);
	if (rc) {
		/* the stream stays open and the next poll tries again: a comment, not an event */
		char *m = xstrdup(d.n ? d.v[0].message : "cannot read the outbox");
		for (char *c = m; *c; c++)
			if (*c == '\n' || *c == '\r')
				*c = ' ';
		buf_addf(&st->out, ": error: %s\n\n", m);
		free(m);
	}
	size_t i;
	json_t *ev;
	json_array_foreach(got, i, ev) {
		if (st->all || event_visible(st->srv, &st->who, ev))
			sse_event(st, ev);
		long long seq = (long long)json_integer_value(json_object_get(ev, "seq"));
		if (seq > st->after)
			st->after = seq;
	}
	json_decref(got);
	diags_release(&d);
	return !rc;
}

static long sse_read(void *cls, char *buf, size_t max)
{
	struct sse *st = cls;
	struct server *s = st->srv;
	while (st->off == st->out.len) {
		buf_clear(&st->out);
		st->off = 0;
		if (st->ended || atomic_load(s->o.cancel))
			return -1; /* the server is shutting down: the stream ends cleanly */
		sse_poll(st);
		if (st->out.len)
			break;
		if (now_ms() - st->last_write_ms >= st->heartbeat_ms) {
			char t[32];
			now_rfc3339(t);
			buf_addf(&st->out, ": heartbeat %s\n\n", t);
			break;
		}
		if (!nap(s, STREAM_POLL_MS)) {
			st->ended = true;
			return -1;
		}
	}
	size_t n = st->out.len - st->off;
	if (n > max)
		n = max;
	memcpy(buf, st->out.ptr + st->off, n);
	st->off += n;
	st->last_write_ms = now_ms();
	return (long)n;
}

static void sse_done(void *cls)
{
	struct sse *st = cls;
	struct server *s = st->srv;
	srv_close_app(&st->fake, st->a);
	buf_release(&st->out);
	free(st->type);
	pthread_mutex_lock(&s->mu);
	s->streams_open--;
	pthread_mutex_unlock(&s->mu);
	free(st);
	error_clear();
}

void h_events_stream(struct req *r)
{
	bool all = authz_allows(&r->srv->authz, &r->who, "events", "get", "");
	if (!all && !req_authorize_some(r))
		return;
	/* where to start: Last-Event-ID (a reconnecting client), else since, else from now on */
	const char *last = req_header(r, "Last-Event-ID");
	const char *since = req_query(r, "since");
	const char *type = req_query(r, "type");
	const char *hb = req_query(r, "heartbeat");
	long long after = -1, hbs = STREAM_HEARTBEAT_S;
	if (last && *last && !parse_seq(last, &after))
		return bad_param(r, "Last-Event-ID", "the seq of an event (digits)", last);
	if (after < 0 && since && !parse_seq(since, &after))
		return bad_param(r, "since", "a sequence number", since);
	if (hb && (!parse_seq(hb, &hbs) || hbs < 1 || hbs > 300))
		return bad_param(r, "heartbeat", "seconds from 1 to 300", hb);
	struct sse *st = xcalloc(1, sizeof(*st));
	st->srv = r->srv;
	st->fake.srv = r->srv;
	st->who = r->who;
	st->all = all;
	st->type = type && *type ? xstrdup(type) : NULL;
	st->heartbeat_ms = (int)hbs * 1000;
	buf_init(&st->out);
	struct diags d = DIAGS_INIT;
	int rc = srv_open_app(&st->fake, NULL, NULL, APP_LOAD_STATE, NULL, &st->a, &d);
	json_t *every = NULL;
	if (!rc && after < 0) {
		/* from now on: after the newest event there is */
		after = 0;
		if (!(rc = app_events_list(st->a, NULL, NULL, 0, &every, &d)) && json_array_size(every))
			after = (long long)json_integer_value(
				json_object_get(json_array_get(every, json_array_size(every) - 1), "seq"));
		json_decref(every);
	}
	if (rc) {
		reply_diags(r, rc, &d);
		diags_release(&d);
		srv_close_app(&st->fake, st->a);
		buf_release(&st->out);
		free(st->type);
		free(st);
		return;
	}
	diags_release(&d);
	st->after = after;
	/* the first bytes go out at once: the client knows it is connected and from where */
	buf_addf(&st->out, "retry: 1000\n: cratis events after seq %lld\n\n", after);
	st->last_write_ms = now_ms();
	pthread_mutex_lock(&r->srv->mu);
	r->srv->streams_open++;
	pthread_mutex_unlock(&r->srv->mu);
	r->code = 200;
	r->ctype = "text/event-stream";
	r->stream_read = sse_read;
	r->stream_done = sse_done;
	r->stream_cls = st;
}

/* ---- the dispatcher ---- */

struct dispatcher {
	struct server *s;
	long long seen;               /* the newest seq when the last pass left nothing pending */
	bool pending;                 /* the last pass left events pending or failed */
	json_t *last_error;           /* {project: message} logged, so a repeated error is logged once */
};

/* Deliver project name (at path) once; adds to *left the events its sinks still hold. */
static void dispatch_project(struct dispatcher *ds, const char *name, const char *path, long long *left)
{
	struct server *s = ds->s;
	struct req fake = { .srv = s, .command_line = "cratis serve: event dispatcher" };
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *envs = NULL, *res = NULL;
	const char *env = NULL;
	/* the sinks are those of the Project whatever the environment: open the first one */
	int rc = srv_open_app(&fake, path, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc && !(rc = app_environments(a, &envs, &d)))
		env = json_string_value(json_object_get(json_array_get(envs, 0), "name"));
	char *envc = env ? xstrdup(env) : NULL;
	srv_close_app(&fake, a);
	a = NULL;
	if (!rc && !(rc = srv_open_app(&fake, path, envc, APP_LOAD_MANIFESTS, NULL, &a, &d)))
		rc = app_events_deliver(a, DISPATCH_TIMEOUT_MS, &res, &d);
	srv_close_app(&fake, a);
	size_t i;
	json_t *o;
	long long delivered = 0;
	const char *msg = NULL;
	json_array_foreach(res, i, o) {
		delivered += json_integer_value(json_object_get(o, "delivered"));
		*left += json_integer_value(json_object_get(o, "left"));
		const char *m = json_string_value(json_object_get(o, "message"));
		if (m && *m && !msg)
			msg = m;
	}
	if (rc)
		msg = d.n ? d.v[0].message : "delivery failed";
	pthread_mutex_lock(&s->mu);
	s->dispatch_delivered += (uint64_t)delivered;
	if (rc)
		s->dispatch_errors++;
	pthread_mutex_unlock(&s->mu);
	const char *before = json_string_value(json_object_get(ds->last_error, name));
	if (msg && (!before || strcmp(before, msg)))
		log_line(s, "events of project '%s': %s", name, msg);
	if (msg)
		json_object_set_new(ds->last_error, name, json_string(msg));
	else
		json_object_del(ds->last_error, name);
	if (rc)
		*left += 1; /* try again next pass */
	json_decref(res);
	json_decref(envs);
	free(envc);
	diags_release(&d);
}

/* The newest seq of the outbox, or -1 when it cannot be read. */
static long long newest_seq(struct server *s, long long after)
{
	struct req fake = { .srv = s };
	struct diags d = DIAGS_INIT;
	struct app *a = NULL;
	json_t *got = NULL;
	char num[32];
	snprintf(num, sizeof(num), "%lld", after);
	long long seq = after;
	int rc = srv_open_app(&fake, NULL, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc)
		rc = app_events_list(a, num, NULL, 0, &got, &d);
	if (!rc && json_array_size(got))
		seq = (long long)json_integer_value(json_object_get(json_array_get(got, json_array_size(got) - 1), "seq"));
	json_decref(got);
	srv_close_app(&fake, a);
	diags_release(&d);
	return rc ? -1 : seq;
}

/* Wait DISPATCH_INTERVAL_MS, or less when a deployment of the server finished since *finished
 * (its events go out at once, as the CLI delivers at the end of its run); false once the server
 * is shutting down. */
static bool wait_kick(struct server *s, uint64_t *finished)
{
	for (int t = 0; t < DISPATCH_INTERVAL_MS; t += 50) {
		if (!nap(s, 50))
			return false;
		pthread_mutex_lock(&s->mu);
		uint64_t f = s->deploy_finished;
		pthread_mutex_unlock(&s->mu);
		if (f != *finished) {
			*finished = f;
			return true;
		}
	}
	return true;
}

static void *dispatcher_run(void *arg)
{
	struct dispatcher *ds = arg;
	struct server *s = ds->s;
	ds->pending = true; /* the first pass delivers whatever earlier runs left */
	uint64_t finished = 0;
	while (wait_kick(s, &finished)) {
		/* a pass only when there are new events, or the last pass left some */
		long long newest = newest_seq(s, ds->seen);
		if (newest < 0 || (!ds->pending && newest == ds->seen))
			continue;
		server_projects_refresh(s); /* the registry as the store holds it */
		pthread_mutex_lock(&s->mu);
		json_t *projects = json_deep_copy(s->projects);
		s->dispatch_passes++;
		pthread_mutex_unlock(&s->mu);
		long long left = 0;
		size_t i;
		json_t *p;
		json_array_foreach(projects, i, p) {
			if (atomic_load(s->o.cancel))
				break;
			dispatch_project(ds, json_string_value(json_object_get(p, "name")),
			                 json_string_value(json_object_get(p, "path")), &left);
		}
		json_decref(projects);
		ds->pending = left > 0;
		ds->seen = newest;
		error_clear();
	}
	error_clear();
	return NULL;
}

int dispatcher_start(struct server *s, pthread_t *th)
{
	struct dispatcher *ds = xcalloc(1, sizeof(*ds));
	ds->s = s;
	ds->last_error = json_object();
	int e = pthread_create(th, NULL, dispatcher_run, ds);
	if (e) {
		json_decref(ds->last_error);
		free(ds);
		return e;
	}
	s->dispatcher = ds;
	return 0;
}

void dispatcher_stop(struct server *s, pthread_t th)
{
	pthread_join(th, NULL); /* it sees the cancellation word within 50 ms, or after its delivery */
	struct dispatcher *ds = s->dispatcher;
	json_decref(ds->last_error);
	free(ds);
	s->dispatcher = NULL;
}
