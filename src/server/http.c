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
#include "state/store.h"
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
	__typeof__(MHD_is_feature_supported) *is_feature_supported;
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
	SYM(is_feature_supported, "MHD_is_feature_supported");
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
	case 412: return "Precondition Failed";
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

json_t *req_body_object(struct req *r)
{
	json_error_t e;
	json_t *j = r->in_len ? json_loadb(r->in, r->in_len, 0, &e) : NULL;
	if (!json_is_object(j)) {
		struct diags d = DIAGS_INIT;
		struct diag *dg = diags_errorf(&d, CRATIS_EINVAL, "%s",
		                               j ? "expected a JSON object" : r->in_len ? e.text : "expected a JSON body");
		if (!j && r->in_len)
			diag_locate(dg, "request body", e.line, e.column, NULL);
		reply_problem(r, 400, NULL, &d);
		diags_release(&d);
		json_decref(j);
		return NULL;
	}
	return j;
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

/* The subject's roles as one text ("role:a,role:b", or "no role") into out. */
static void roles_text(const struct token_subject *w, char *out, size_t size)
{
	struct buf b = BUF_INIT;
	if (*w->role)
		buf_adds(&b, w->role);
	for (size_t i = 0; i < w->nroles && i < TOKEN_MAX_ROLES; i++)
		buf_addf(&b, "%s%s", b.len ? "," : "", w->roles[i]);
	snprintf(out, size, "%s", b.len ? b.ptr : "no role");
	buf_release(&b);
}

/* Emit a denial as a dev.cratis.access.denied event, at most ACCESS_EVENTS_PER_MINUTE a minute:
 * the rest are counted, and the next event written says how many were not ("suppressed").
 * code 401 (who unknown: subject null) or 403; why: the reason, never the token. A store that
 * cannot be written is logged (the request's answer does not change). */
static void access_event(struct req *r, int code, const char *object, const char *why)
{
	struct server *s = r->srv;
	const struct route *rt = r->route;
	int64_t now = now_ms();
	uint64_t suppressed = 0;
	bool emit = false;
	pthread_mutex_lock(&s->mu);
	if (code == 401)
		s->denied_401++;
	else
		s->denied_403++;
	emit = access_rate_take(&s->denial_rate, now, ACCESS_EVENTS_PER_MINUTE, &suppressed);
	if (emit)
		s->denial_events++;
	else
		s->denial_suppressed_total++;
	pthread_mutex_unlock(&s->mu);
	if (!emit)
		return;
	/* the source: the project and environment of the path, as the other events name them */
	const char *project = "_", *env = "_";
	if (rt && starts_with(rt->path, "/v1/projects/{project}") && r->nparams >= 1) {
		project = r->params[0];
		if (starts_with(rt->path, "/v1/projects/{project}/environments/{env}") && r->nparams >= 2)
			env = r->params[1];
	}
	char roles[512];
	roles_text(&r->who, roles, sizeof(roles));
	json_t *data = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s}", "status", code, "method", r->method, "route",
	                         rt ? rt->path : "", "path", r->url, "reason", why, "object", object ? object : "");
	json_object_set_new(data, "subject", code == 401 ? json_null() : json_string(r->who.subject));
	json_object_set_new(data, "role", code == 401 ? json_null() : json_string(roles));
	json_object_set_new(data, "resource", json_string(rt && rt->resource ? rt->resource : ""));
	json_object_set_new(data, "action", json_string(rt && rt->action ? rt->action : ""));
	if (suppressed)
		json_object_set_new(data, "suppressed", json_integer((json_int_t)suppressed));
	char *text = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(data);
	char *source = xasprintf("/projects/%s/environments/%s", project, env);
	struct store_event ev = { .type = "dev.cratis.access.denied", .source = source, .data = text,
	                          .subject = code == 401 ? NULL : r->who.subject };
	struct req fake = { .srv = s };
	struct app *a = NULL;
	struct diags d = DIAGS_INIT;
	int rc = srv_open_app(&fake, NULL, NULL, APP_LOAD_STATE, NULL, &a, &d);
	if (!rc && (rc = store_emit(a->store, strcmp(env, "_") ? env : "", 0, &ev, 1)))
		diags_add_last_error(&d);
	if (rc)
		log_line(s, "cannot write the access event: %s", d.n ? d.v[0].message : "state store failed");
	srv_close_app(&fake, a);
	diags_release(&d);
	free(source);
	free(text);
}

static bool deny(struct req *r, const char *object)
{
	const struct route *rt = r->route;
	char roles[512];
	roles_text(&r->who, roles, sizeof(roles));
	log_line(r->srv, "denied %s (%s): %s %s %s on %s %s", r->who.subject, roles, rt->action, rt->resource,
	         *object ? object : "(all)", r->method, r->url);
	char *msg = xasprintf("'%s' (%s) may not %s %s '%s'", r->who.subject, roles, rt->action, rt->resource,
	                      *object ? object : "(all)");
	access_event(r, 403, object, msg);
	reply_problem(r, 403, msg, NULL);
	free(msg);
	return false;
}

bool req_authorize(struct req *r, const char *object)
{
	const struct route *rt = r->route;
	if (authz_allows(&r->srv->authz, &r->who, rt->resource, rt->action, object))
		return true;
	return deny(r, object);
}

bool req_authorize_some(struct req *r)
{
	const struct route *rt = r->route;
	if (authz_allows_some(&r->srv->authz, &r->who, rt->resource, rt->action))
		return true;
	return deny(r, "(any)");
}

bool req_may(struct req *r, const char *resource, const char *action, const char *object)
{
	return authz_allows(&r->srv->authz, &r->who, resource, action, object);
}

/* The destructor of a connection thread's token store handle. */
static void token_store_free(void *st)
{
	store_close(st);
}

/* Fill r->who from a verified JWT; CRATIS_EINVAL with the reason in the last error. */
static int jwt_subject(struct req *r, const char *token)
{
	struct jwt_identity id;
	int rc = jwt_verify(r->srv->jwks, &r->srv->oidc, token, (int64_t)time(NULL), &id);
	if (rc)
		return rc;
	memset(&r->who, 0, sizeof(r->who));
	snprintf(r->who.subject, sizeof(r->who.subject), "%s", id.subject);
	for (size_t i = 0; i < id.nroles; i++) {
		if (!i)
			snprintf(r->who.role, sizeof(r->who.role), "%s", id.roles[0]);
		else if (r->who.nroles < TOKEN_MAX_ROLES)
			snprintf(r->who.roles[r->who.nroles++], sizeof(r->who.roles[0]), "%s", id.roles[i]);
	}
	return CRATIS_OK;
}

/* 401 unless the request carries a valid bearer token (r->who is then set): a cratis token, or a
 * JWT of the configured OIDC issuer. */
static bool authenticate(struct req *r)
{
	const char *h = mhd.lookup(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *why;
	bool presented = false;
	if (!h || strncasecmp(h, "Bearer ", 7)) {
		why = "no bearer token";
	} else {
		const char *tok = h + 7;
		while (*tok == ' ')
			tok++;
		presented = true;
		if (jwt_shaped(tok) && !r->srv->jwks) {
			why = "a JWT, but this server accepts none (no --oidc-issuer)";
		} else if (jwt_shaped(tok)) {
			if (!jwt_subject(r, tok))
				return true;
			why = cratis_error_last()->message;
		} else {
			/* a cratis token: its record in the state store, read through the connection thread's
			 * own handle (opened on its first request, closed when the thread ends, dropped when
			 * it failed) */
			struct store *st = pthread_getspecific(r->srv->token_store);
			int rc = st ? CRATIS_OK : store_open(&st, r->srv->state_url);
			if (!rc)
				rc = token_verify(&r->who, st, tok);
			if (rc && rc != CRATIS_EINVAL) {
				store_close(st);
				st = NULL;
			}
			pthread_setspecific(r->srv->token_store, st);
			if (!rc)
				return true;
			if (rc != CRATIS_EINVAL) { /* the store failed: not the client's fault */
				char *m = xasprintf("cannot check the token: %s", cratis_error_last()->message);
				log_line(r->srv, "%s on %s %s", m, r->method, r->url);
				reply_problem(r, 500, m, NULL);
				free(m);
				return false;
			}
			why = cratis_error_last()->message;
		}
	}
	char *reason = xstrdup(why);
	log_line(r->srv, "denied: %s on %s %s", reason, r->method, r->url);
	if (presented)
		access_event(r, 401, NULL, reason);
	reply_problem(r, 401, reason, NULL);
	free(reason);
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
	buf_adds(out, "# HELP cratis_experiment_ticks_total Ticks of experiment decision loops the scheduler ran.\n"
	              "# TYPE cratis_experiment_ticks_total counter\n");
	buf_addf(out, "cratis_experiment_ticks_total %" PRIu64 "\n", s->experiment_ticks);
	buf_adds(out, "# HELP cratis_experiments_running Experiments running or concluding at the scheduler's last pass.\n"
	              "# TYPE cratis_experiments_running gauge\n");
	buf_addf(out, "cratis_experiments_running %" PRIu64 "\n", s->experiments_running);
	buf_adds(out, "# HELP cratis_scheduled_scale_downs_total Rollouts whose previous release the scheduler scaled down.\n"
	              "# TYPE cratis_scheduled_scale_downs_total counter\n");
	buf_addf(out, "cratis_scheduled_scale_downs_total %" PRIu64 "\n", s->scale_downs);
	buf_adds(out, "# HELP cratis_access_denied_total Requests denied, by status code (401, 403).\n"
	              "# TYPE cratis_access_denied_total counter\n");
	buf_addf(out, "cratis_access_denied_total{code=\"401\"} %" PRIu64 "\n", s->denied_401);
	buf_addf(out, "cratis_access_denied_total{code=\"403\"} %" PRIu64 "\n", s->denied_403);
	buf_adds(out, "# HELP cratis_access_events_total dev.cratis.access.denied events written.\n"
	              "# TYPE cratis_access_events_total counter\n");
	buf_addf(out, "cratis_access_events_total %" PRIu64 "\n", s->denial_events);
	buf_adds(out, "# HELP cratis_access_events_suppressed_total Denials not written as events (over the rate bound).\n"
	              "# TYPE cratis_access_events_suppressed_total counter\n");
	buf_addf(out, "cratis_access_events_suppressed_total %" PRIu64 "\n", s->denial_suppressed_total);
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
		if (r.etag)
			mhd.add_header(resp, MHD_HTTP_HEADER_ETAG, r.etag);
		ret = mhd.queue_response(conn, (unsigned)r.code, resp);
		mhd.destroy_response(resp);
	} else if (!r.stream_read) {
		free(text);
	}
	metrics_observe(s, r.route, r.code, (double)(now_ms() - q->start_ms) / 1000.0);
	json_decref(r.body);
	free(r.allow);
	free(r.location);
	free(r.etag);
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
	bool tls = s->o.tls_cert != NULL;
	if (tls && mhd.is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		diags_errorf(d, CRATIS_ENOTFOUND, "--tls-cert: this libmicrohttpd (%s) was built without TLS (GnuTLS): "
		                                  "install a build with HTTPS support, or serve plain HTTP behind a TLS proxy",
		             CRATIS_LIBMICROHTTPD_SONAME);
		return CRATIS_ENOTFOUND;
	}
	if (tls && (rc = tls_pair_load(s->o.tls_cert, s->o.tls_key, &s->tls_cert, &s->tls_key, d)))
		return rc;
	for (s->nroutes = 0; server_routes[s->nroutes].path; s->nroutes++)
		;
	if ((rc = pthread_key_create(&s->token_store, token_store_free))) {
		diags_errorf(d, CRATIS_EIO, "cannot create a thread key: %s", strerror(rc));
		return CRATIS_EIO;
	}
	s->metrics = xcalloc(s->nroutes + 1, sizeof(*s->metrics));
	struct MHD_OptionItem tls_opts[] = {
		{ tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->tls_cert },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct MHD_Daemon *daemon = mhd.start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC | (tls ? MHD_USE_TLS : 0), 0,
		NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)256, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
	if (!daemon) {
		int e = errno ? errno : EADDRINUSE;
		if (tls)
			diags_errorf(d, CRATIS_EIO, "cannot listen on %s with TLS (certificate '%s', key '%s'): %s", s->o.listen,
			             s->o.tls_cert, s->o.tls_key, strerror(e));
		else
			diags_errorf(d, CRATIS_EIO, "cannot listen on %s: %s", s->o.listen, strerror(e));
		free(s->metrics);
		s->metrics = NULL;
		pthread_key_delete(s->token_store);
		return CRATIS_EIO;
	}
	const union MHD_DaemonInfo *info = mhd.get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
	char addr[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sin.sin_addr, addr, sizeof(addr));
	pthread_t dispatcher;
	int derr = dispatcher_start(s, &dispatcher);
	if (derr)
		log_line(s, "cannot start the event dispatcher: %s; events are delivered by the CLI only", strerror(derr));
	pthread_t scheduler;
	int serr = scheduler_start(s, &scheduler);
	if (serr)
		log_line(s, "cannot start the scheduler: %s; experiments and scale-downs wait for the CLI", strerror(serr));
	log_line(s, "listening on %s://%s:%u", tls ? "https" : "http", addr, info ? (unsigned)info->port : (unsigned)ntohs(sin.sin_port));
	while (!atomic_load(s->o.cancel)) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	log_line(s, "shutting down: no new connections; waiting for running requests and deployments");
	MHD_socket listen_fd = mhd.quiesce_daemon(daemon); /* ours to close once stopped */
	if (!serr)
		scheduler_stop(s, scheduler); /* its tick in progress is cancelled (the app's cancel word) */
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
	/* every connection thread has ended (and closed its handle): the key has no value left */
	pthread_key_delete(s->token_store);
	free(s->metrics);
	s->metrics = NULL;
	return CRATIS_OK;
}
