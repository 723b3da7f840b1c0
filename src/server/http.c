/* The HTTP side of `cratis serve`: libmicrohttpd (opened on first use, src/util/dynlib.h), the
 * routes table, authentication and authorisation of every route, problem documents, metrics. */
#define _GNU_SOURCE /* explicit_bzero, getrandom, strncasecmp */
#include "server.h"
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dynlib.h"
#include "error.h"
#include "banned.h"

#ifndef CRATIS_LIBMICROHTTPD_SONAME
#define CRATIS_LIBMICROHTTPD_SONAME "libmicrohttpd.so.12"
#define CRATIS_LIBMICROHTTPD_PACKAGE "libmicrohttpd12"
#endif

#define BODY_CAP (1 << 20)

/* ---- libmicrohttpd, opened on first use ---- */

static struct {
	struct dynlib lib;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_quiesce_daemon) *quiesce_daemon;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_lookup_connection_value) *lookup;
	__typeof__(MHD_get_connection_values) *get_values;
	__typeof__(MHD_create_response_from_buffer) *create_response;
	__typeof__(MHD_create_response_from_callback) *create_response_cb;
	__typeof__(MHD_add_response_header) *add_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
} mhd;
static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;

static void mhd_load(void)
{
	if (dynlib_open(&mhd.lib, "libmicrohttpd", CRATIS_LIBMICROHTTPD_SONAME, CRATIS_LIBMICROHTTPD_PACKAGE))
		return;
#define SYM(field, name) mhd.field = (__typeof__(mhd.field))dynlib_sym(&mhd.lib, name)
	SYM(start_daemon, "MHD_start_daemon");
	SYM(stop_daemon, "MHD_stop_daemon");
	SYM(quiesce_daemon, "MHD_quiesce_daemon");
	SYM(get_daemon_info, "MHD_get_daemon_info");
	SYM(lookup, "MHD_lookup_connection_value");
	SYM(get_values, "MHD_get_connection_values");
	SYM(create_response, "MHD_create_response_from_buffer");
	SYM(create_response_cb, "MHD_create_response_from_callback");
	SYM(add_header, "MHD_add_response_header");
	SYM(queue_response, "MHD_queue_response");
	SYM(destroy_response, "MHD_destroy_response");
#undef SYM
}

/* ---- requests ---- */

struct request {
	struct buf body;
	bool too_large;
	int64_t start_ms;
};

const char *req_query(struct req *r, const char *key)
{
	return mhd.lookup(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result has_key_it(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	(void)value;
	struct req *r = cls;
	if (!strcmp(key, r->probe)) {
		r->probe_found = true;
		return MHD_NO;
	}
	return MHD_YES;
}

const char *req_header(struct req *r, const char *name)
{
	return mhd.lookup(r->conn, MHD_HEADER_KIND, name);
}

bool req_has_query(struct req *r, const char *key)
{
	r->probe = key;
	r->probe_found = false;
	mhd.get_values(r->conn, MHD_GET_ARGUMENT_KIND, has_key_it, r);
	return r->probe_found;
}

void reply_json(struct req *r, int code, json_t *body)
{
	json_decref(r->body);
	r->code = code;
	r->body = body;
	r->ctype = "application/json";
}

static const char *status_title(int code)
{
	switch (code) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 422: return "Unprocessable Content";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

void reply_problem(struct req *r, int code, const char *detail, const struct diags *d)
{
	json_t *p = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", "about:blank", "title", status_title(code), "status",
	                      code, "detail", detail ? detail : status_title(code), "instance", r->url);
	if (d && d->n) {
		json_object_set_new(p, "diagnostics", diags_to_json(d));
		for (size_t i = 0; i < d->n; i++)
			if (d->v[i].severity == DIAG_ERROR) {
				json_object_set_new(p, "type", json_sprintf("https://cratis.invalid/problems/%s",
				                                             status_name(d->v[i].status)));
				if (!detail)
					json_object_set_new(p, "detail", json_string(d->v[i].message));
				break;
			}
	}
	reply_json(r, code, p);
	r->ctype = "application/problem+json";
}

int http_code_of(int status)
{
	switch (status) {
	case CRATIS_EINVAL: case CRATIS_ECYCLE: return 422;
	case CRATIS_ENOTFOUND: return 404;
	case CRATIS_ELOCKED: case CRATIS_EEXISTS: return 409;
	default: return 500;
	}
}

void reply_diags(struct req *r, int status, const struct diags *d)
{
	reply_problem(r, http_code_of(status), NULL, d);
}

/* ---- routing ---- */

/* Match path against pattern ("/v1/projects/{project}"), filling r's parameters. */
static bool match(const char *pattern, const char *path, struct req *r)
{
	r->nparams = 0;
	const char *p = pattern, *s = path;
	while (*p && *s) {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			const char *se = strchr(s, '/');
			size_t n = se ? (size_t)(se - s) : strlen(s);
			if (!n || r->nparams == REQ_MAX_PARAMS || n >= sizeof(r->params[0]))
				return false;
			memcpy(r->params[r->nparams], s, n);
			r->params[r->nparams++][n] = 0;
			p = pe + 1;
			s += n;
		} else if (*p++ != *s++) {
			return false;
		}
	}
	return !*p && !*s;
}


void log_line(struct server *s, const char *fmt, ...)
{
	char t[32];
	now_rfc3339(t);
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&s->mu);
	fprintf(s->o.log, "%s cratis serve: %s\n", t, b.ptr);
	fflush(s->o.log);
	pthread_mutex_unlock(&s->mu);
	buf_release(&b);
}

bool req_authorize(struct req *r, const char *object)
{
	const struct route *rt = r->route;
	if (authz_allows(&r->srv->authz, &r->who, rt->resource, rt->action, object))
		return true;
	log_line(r->srv, "denied %s (%s): %s %s %s on %s %s", r->who.subject, r->who.role, rt->action, rt->resource,
	         *object ? object : "(all)", r->method, r->url);
	char *msg = xasprintf("'%s' (%s) may not %s %s '%s'", r->who.subject, r->who.role, rt->action, rt->resource,
	                      *object ? object : "(all)");
	reply_problem(r, 403, msg, NULL);
	free(msg);
	return false;
}

/* 401 unless the request carries a valid bearer token (r->who is then set). */
static bool authenticate(struct req *r)
{
	const char *h = mhd.lookup(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *why;
	if (!h || strncasecmp(h, "Bearer ", 7)) {
		why = "no bearer token";
	} else if (token_verify(&r->who, r->srv->tokens_path, h + 7)) {
		why = cratis_error_last()->message;
	} else {
		return true;
	}
	log_line(r->srv, "denied: %s on %s %s", why, r->method, r->url);
	reply_problem(r, 401, why, NULL);
	r->www_authenticate = true;
	return false;
}

static void dispatch(struct req *r)
{
	const struct route *rt = NULL;
	bool path_known = false;
	struct buf allow = BUF_INIT;
	for (size_t i = 0; server_routes[i].path; i++) {
		if (!match(server_routes[i].path, r->url, r))
			continue;
		path_known = true;
		buf_addf(&allow, "%s%s", allow.len ? ", " : "", server_routes[i].method);
		if (!strcmp(server_routes[i].method, r->method)) {
			rt = &server_routes[i];
			break;
		}
	}
	if (!rt) {
		r->route = NULL;
		if (path_known) {
			reply_problem(r, 405, NULL, NULL);
			r->allow = buf_detach(&allow);
		} else {
			reply_problem(r, 404, "no such route", NULL);
		}
		buf_release(&allow);
		return;
	}
	buf_release(&allow);
	match(rt->path, r->url, r);
	r->route = rt;
	if (rt->resource && !authenticate(r))
		return;
	rt->fn(r);
}

/* ---- metrics ---- */

static const double buckets[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct route_metrics {
	uint64_t codes[600];
	uint64_t bucket[NBUCKETS];
	uint64_t count;
	double sum;
};

static void metrics_observe(struct server *s, const struct route *rt, int code, double secs)
{
	size_t i = rt ? (size_t)(rt - server_routes) : s->nroutes; /* the last slot: unrouted */
	pthread_mutex_lock(&s->mu);
	struct route_metrics *m = &s->metrics[i];
	if (code >= 100 && code < 600)
		m->codes[code]++;
	for (size_t b = 0; b < NBUCKETS; b++)
		if (secs <= buckets[b])
			m->bucket[b]++;
	m->count++;
	m->sum += secs;
	pthread_mutex_unlock(&s->mu);
}

void metrics_text(struct server *s, struct buf *out)
{
	buf_adds(out, "# HELP cratis_http_requests_total HTTP requests by route and status code.\n"
	              "# TYPE cratis_http_requests_total counter\n");
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i <= s->nroutes; i++) {
		const char *path = i < s->nroutes ? server_routes[i].path : "(unmatched)";
		const char *method = i < s->nroutes ? server_routes[i].method : "";
		for (int c = 100; c < 600; c++)
			if (s->metrics[i].codes[c])
				buf_addf(out, "cratis_http_requests_total{method=\"%s\",route=\"%s\",code=\"%d\"} %" PRIu64 "\n",
				         method, path, c, s->metrics[i].codes[c]);
	}
	buf_adds(out, "# HELP cratis_http_request_duration_seconds Time to answer a request, by route.\n"
	              "# TYPE cratis_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i <= s->nroutes; i++) {
		struct route_metrics *m = &s->metrics[i];
		if (!m->count)
			continue;
		const char *path = i < s->nroutes ? server_routes[i].path : "(unmatched)";
		const char *method = i < s->nroutes ? server_routes[i].method : "";
		for (size_t b = 0; b < NBUCKETS; b++)
			buf_addf(out, "cratis_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %" PRIu64 "\n",
			         method, path, buckets[b], m->bucket[b]);
		buf_addf(out, "cratis_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
		         method, path, m->count);
		buf_addf(out, "cratis_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n", method, path, m->sum);
		buf_addf(out, "cratis_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %" PRIu64 "\n", method,
		         path, m->count);
	}
	buf_adds(out, "# HELP cratis_deployments_total Deployments run through the API that finished, by result.\n"
	              "# TYPE cratis_deployments_total counter\n");
	buf_addf(out, "cratis_deployments_total{result=\"succeeded\"} %" PRIu64 "\n", s->deploy_ok);
	buf_addf(out, "cratis_deployments_total{result=\"failed\"} %" PRIu64 "\n", s->deploy_failed);
	buf_addf(out, "cratis_deployments_total{result=\"interrupted\"} %" PRIu64 "\n", s->deploy_interrupted);
	buf_adds(out, "# HELP cratis_deployments_running Deployments running on the server's workers.\n"
	              "# TYPE cratis_deployments_running gauge\n");
	buf_addf(out, "cratis_deployments_running %" PRIu64 "\n", s->deploy_running);
	buf_adds(out, "# HELP cratis_event_streams_open Server-Sent Events streams being served.\n"
	              "# TYPE cratis_event_streams_open gauge\n");
	buf_addf(out, "cratis_event_streams_open %" PRIu64 "\n", s->streams_open);
	buf_adds(out, "# HELP cratis_event_dispatch_passes_total Passes of the event dispatcher that delivered.\n"
	              "# TYPE cratis_event_dispatch_passes_total counter\n");
	buf_addf(out, "cratis_event_dispatch_passes_total %" PRIu64 "\n", s->dispatch_passes);
	buf_adds(out, "# HELP cratis_events_delivered_total Events the dispatcher delivered to sinks.\n"
	              "# TYPE cratis_events_delivered_total counter\n");
	buf_addf(out, "cratis_events_delivered_total %" PRIu64 "\n", s->dispatch_delivered);
	buf_adds(out, "# HELP cratis_event_dispatch_errors_total Dispatcher passes of a project that failed.\n"
	              "# TYPE cratis_event_dispatch_errors_total counter\n");
	buf_addf(out, "cratis_event_dispatch_errors_total %" PRIu64 "\n", s->dispatch_errors);
	pthread_mutex_unlock(&s->mu);
}

/* ---- libmicrohttpd callbacks ---- */

/* A streamed reply (struct req's stream_*): the handler's reader and its state, owned by the
 * response once created. */
struct stream {
	long (*read)(void *cls, char *buf, size_t max);
	void (*done)(void *cls);
	void *cls;
};

static ssize_t stream_read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct stream *st = cls;
	long n = st->read(st->cls, buf, max);
	error_clear(); /* the reader runs on the connection's thread: its last error is not kept */
	return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void stream_free_cb(void *cls)
{
	struct stream *st = cls;
	st->done(st->cls);
	free(st);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
	(void)version;
	struct server *s = cls;
	struct request *q = *con_cls;
	if (!q) {
		q = xcalloc(1, sizeof(*q));
		buf_init(&q->body);
		q->start_ms = now_ms();
		*con_cls = q;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (q->body.len + *upload_data_size > BODY_CAP)
			q->too_large = true;
		else
			buf_add(&q->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	struct req r = { .srv = s, .conn = conn, .url = url, .method = method, .in = q->body.ptr,
	                 .in_len = q->body.len };
	if (q->too_large)
		reply_problem(&r, 413, "the request body is larger than 1 MiB", NULL);
	else
		dispatch(&r);
	if (!r.body && !r.text && !r.stream_read)
		reply_problem(&r, 500, "no response", NULL);
	char *text = NULL;
	struct MHD_Response *resp;
	if (r.stream_read) {
		struct stream *st = xcalloc(1, sizeof(*st));
		*st = (struct stream){ r.stream_read, r.stream_done, r.stream_cls };
		resp = mhd.create_response_cb(MHD_SIZE_UNKNOWN, 4096, stream_read_cb, st, stream_free_cb);
		if (!resp)
			stream_free_cb(st); /* else the response owns it */
	} else {
		text = r.text ? r.text : json_dumps(r.body, JSON_COMPACT);
		resp = mhd.create_response(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	}
	enum MHD_Result ret = MHD_NO;
	if (resp) {
		mhd.add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.ctype);
		bool cache_control = false;
		for (size_t i = 0; i < r.nheaders; i++) {
			mhd.add_header(resp, r.headers[i][0], r.headers[i][1]);
			cache_control |= !strcasecmp(r.headers[i][0], MHD_HTTP_HEADER_CACHE_CONTROL);
		}
		if (!cache_control)
			mhd.add_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
		if (r.www_authenticate)
			mhd.add_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"cratis\"");
		if (r.allow)
			mhd.add_header(resp, MHD_HTTP_HEADER_ALLOW, r.allow);
		if (r.location)
			mhd.add_header(resp, MHD_HTTP_HEADER_LOCATION, r.location);
		ret = mhd.queue_response(conn, (unsigned)r.code, resp);
		mhd.destroy_response(resp);
	} else if (!r.stream_read) {
		free(text);
	}
	metrics_observe(s, r.route, r.code, (double)(now_ms() - q->start_ms) / 1000.0);
	json_decref(r.body);
	free(r.allow);
	free(r.location);
	error_clear(); /* the thread's last error: connection threads end without freeing it */
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode code)
{
	(void)cls;
	(void)conn;
	(void)code;
	struct request *q = *con_cls;
	if (q) {
		buf_release(&q->body);
		free(q);
		*con_cls = NULL;
	}
}

static int parse_listen(const char *listen, struct sockaddr_in *sin, struct diags *d)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	const char *colon = listen ? strrchr(listen, ':') : NULL;
	char host[64];
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || (size_t)(colon - listen) >= sizeof(host) || !colon[1] || *end || port < 0 || port > 65535) {
		diags_errorf(d, CRATIS_EINVAL, "invalid --listen '%s': expected HOST:PORT (127.0.0.1:8080)", listen ? listen : "");
		return CRATIS_EINVAL;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = 0;
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		diags_errorf(d, CRATIS_EINVAL, "invalid --listen '%s': expected an IPv4 address before the port, got '%s'",
		             listen, host);
		return CRATIS_EINVAL;
	}
	sin->sin_port = htons((uint16_t)port);
	return CRATIS_OK;
}

int http_serve(struct server *s, struct diags *d)
{
	struct sockaddr_in sin;
	int rc = parse_listen(s->o.listen, &sin, d);
	if (rc)
		return rc;
	if ((rc = dynlib_load_once(&mhd_once, mhd_load, &mhd.lib)))
		return diags_add_last_error(d);
	for (s->nroutes = 0; server_routes[s->nroutes].path; s->nroutes++)
		;
	s->metrics = xcalloc(s->nroutes + 1, sizeof(*s->metrics));
	struct MHD_Daemon *daemon = mhd.start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC, 0, NULL, NULL, on_request, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)256,
		MHD_OPTION_END);
	if (!daemon) {
		diags_errorf(d, CRATIS_EIO, "cannot listen on %s: %s", s->o.listen, strerror(errno ? errno : EADDRINUSE));
		return CRATIS_EIO;
	}
	const union MHD_DaemonInfo *info = mhd.get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
	char addr[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sin.sin_addr, addr, sizeof(addr));
	pthread_t dispatcher;
	int derr = dispatcher_start(s, &dispatcher);
	if (derr)
		log_line(s, "cannot start the event dispatcher: %s; events are delivered by the CLI only", strerror(derr));
	log_line(s, "listening on http://%s:%u", addr, info ? (unsigned)info->port : (unsigned)ntohs(sin.sin_port));
	while (!atomic_load(s->o.cancel)) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	log_line(s, "shutting down: no new connections; waiting for running requests and deployments");
	MHD_socket listen_fd = mhd.quiesce_daemon(daemon); /* ours to close once stopped */
	jobs_join_all(s);
	if (!derr)
		dispatcher_stop(s, dispatcher);
	/* event streams end at the cancellation (their reader returns end-of-stream within 50 ms):
	 * let them send their last chunk before the connections are closed, for at most 5 s */
	for (int i = 0; i < 100; i++) {
		pthread_mutex_lock(&s->mu);
		uint64_t open = s->streams_open;
		pthread_mutex_unlock(&s->mu);
		if (!open)
			break;
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	mhd.stop_daemon(daemon);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	log_line(s, "stopped");
	free(s->metrics);
	s->metrics = NULL;
	return CRATIS_OK;
}
