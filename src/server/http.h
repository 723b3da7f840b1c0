/* Internal interface of src/server: the server's state, a request being answered, the routes
 * table and the helpers handlers use. Not for other layers. */
#ifndef CRATIS_SERVER_HTTP_H
#define CRATIS_SERVER_HTTP_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "auth.h"
#include "buf.h"
#include "jwt.h"
#include "server.h"

struct job;
struct route_metrics;
struct MHD_Connection;

/* The running server. mu guards projects, jobs, metrics and the log. */
struct server {
	struct server_options o;
	char *state_dir;              /* absolute */
	char *state_url;              /* o.state_url or sqlite:STATE_DIR/state.db */
	char *tokens_path;            /* STATE_DIR/tokens.json: imported into the store once, at start */
	char *projects_path;          /* STATE_DIR/projects.json: likewise */
	struct authz authz;
	pthread_mutex_t mu;
	pthread_cond_t cond;          /* a job started or finished */
	pthread_mutex_t plugins_mu;   /* held while an app loads or unloads plugins (routes.c) */
	json_t *projects;             /* [{name, path, registered}]: the registry's records, as last read */
	struct job *jobs;             /* deployments running or finished, not yet joined */
	size_t nroutes;
	struct route_metrics *metrics; /* nroutes + 1 (unmatched) */
	uint64_t deploy_ok, deploy_failed, deploy_interrupted, deploy_running;
	uint64_t deploy_finished;     /* deployments finished (any result): wakes the dispatcher */
	struct dispatcher *dispatcher; /* the event dispatcher's state (events.c) */
	uint64_t streams_open;        /* Server-Sent Events streams being served */
	uint64_t dispatch_passes, dispatch_delivered, dispatch_errors; /* the event dispatcher (events.c) */
	uint64_t experiment_ticks, experiments_running, scale_downs; /* the scheduler (scheduler.c) */
	struct jwks *jwks;            /* OIDC: the issuer's keys (o.oidc_jwks), or NULL: no JWTs */
	struct jwt_config oidc;       /* what a JWT must carry (borrowing o's strings) */
	char *tls_cert, *tls_key;     /* the PEM text of o.tls_cert / o.tls_key, or NULL (http.c) */
	pthread_key_t token_store;    /* each connection thread's store handle for token checks (http.c;
	                               * closed when the thread ends) */
	/* access events (http.c): at most ACCESS_EVENTS_PER_MINUTE dev.cratis.access.denied events
	 * a minute; the rest are counted and reported by the next event as "suppressed" */
	struct access_rate denial_rate;
	uint64_t denied_401, denied_403, denial_events, denial_suppressed_total;
};

#define ACCESS_EVENTS_PER_MINUTE 60

#define REQ_MAX_PARAMS 4
#define REQ_MAX_HEADERS 8

/* A request being answered, on its connection's thread. */
struct req {
	struct server *srv;
	struct MHD_Connection *conn;
	const char *url, *method;
	const char *in;               /* the request body (in_len bytes) */
	size_t in_len;
	const struct route *route;
	char params[REQ_MAX_PARAMS][256]; /* the {...} segments of the path, in order */
	size_t nparams;
	struct token_subject who;     /* set once authenticated */
	const char *command_line;     /* recorded with locks and deployments, or NULL */
	const char *paths[1];         /* the manifest path of the app a handler opened (app_options
	                               * borrows it for the life of the app) */
	/* the reply */
	int code;
	json_t *body;                 /* JSON body (owned), or NULL when text is set */
	char *text;                   /* a text body (owned, freed by libmicrohttpd) */
	const char *ctype;
	bool www_authenticate;
	char *allow, *location;       /* owned header values, or NULL */
	char *etag;                   /* owned ETag header value ("\"3\""), or NULL */
	const char *headers[REQ_MAX_HEADERS][2]; /* more reply headers (name, value; static strings);
	                               * a Cache-Control among them replaces the default no-store */
	size_t nheaders;
	/* a streamed reply instead (Server-Sent Events, events.c): read is called on the
	 * connection's thread until it returns -1 (end of stream); done frees cls */
	long (*stream_read)(void *cls, char *buf, size_t max);
	void (*stream_done)(void *cls);
	void *stream_cls;
	const char *probe;            /* req_has_query's scratch */
	bool probe_found;
};

/* A row of the routes table: method and path pattern ("{name}" matches one segment), the policy
 * resource and action it is checked against (resource NULL: public, no token needed), the
 * handler and a summary (the OpenAPI document describes the same routes; a test compares them). */
struct route {
	const char *method;
	const char *path;
	const char *resource;
	const char *action;
	void (*fn)(struct req *r);
	const char *summary;
};
/* Ends with a row whose path is NULL (routes.c). */
extern const struct route server_routes[];

/* The projects registry is kept in the state store as records of this kind (scope "", name the
 * project's, body {name, path, registered}); s->projects is the server's copy. */
#define PROJECT_RECORD_KIND "project"
/* Record every project of s->projects the store does not hold yet (a project just appended); the
 * caller holds s->mu. CRATIS_OK; CRATIS_EEXISTS when another server registered one of those names
 * with another path meanwhile; CRATIS_EIO; the last error set (server.c). */
int server_projects_save(struct server *s);
/* Read the projects registry from the store into s->projects (taking s->mu to replace it), so
 * that what another server on the same store registered is seen. CRATIS_OK or CRATIS_EIO with
 * the last error set; s->projects is kept on error (server.c). */
int server_projects_refresh(struct server *s);
/* Serve until cancelled (http.c). */
int http_serve(struct server *s, struct diags *d);
/* Join every deployment worker (routes.c), after the cancellation word was set. */
void jobs_join_all(struct server *s);
/* The Prometheus text exposition of the server's counters into out (http.c). */
void metrics_text(struct server *s, struct buf *out);

/* Open the application layer for request r as the handlers do (the server's store URL and state
 * directory; path: the project directory, NULL: state only), what as app_open; plugin loading is
 * serialised on plugins_mu. r->paths keeps path borrowed for the app's life. Returns app_open's
 * status (routes.c). */
int srv_open_app(struct req *r, const char *path, const char *env, enum app_load what,
                 const struct engine_observer *obs, struct app **a, struct diags *d);
/* app_close for an app of srv_open_app (NULL ignored). */
void srv_close_app(struct req *r, struct app *a);
/* Write one line "TIME cratis serve: MESSAGE" to the server's log (under s->mu; never a token). */
void log_line(struct server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The value of a request header (case-insensitive name), or NULL (http.c). */
const char *req_header(struct req *r, const char *name);
/* The event routes (events.c): GET /v1/events and GET /v1/events/stream. */
void h_events(struct req *r);
void h_events_stream(struct req *r);
/* The event dispatcher (events.c): started with the server, it delivers the pending events of
 * every registered project to their sinks every few seconds (bounded per pass) until the
 * cancellation word is set; dispatcher_stop joins it. dispatcher_start returns 0, or an errno
 * value when the thread cannot be started. */
int dispatcher_start(struct server *s, pthread_t *th);
void dispatcher_stop(struct server *s, pthread_t th);

/* The scheduler (scheduler.c): started with the server, every o.tick_ms it ticks the decision
 * loop of every running experiment of every registered project and environment and stops the
 * previous releases whose scaleDownDelaySeconds have passed, each under the environment's lock
 * taken without waiting, until the cancellation word is set; scheduler_stop joins it (a tick in
 * progress sees the cancellation through its app). scheduler_start returns 0, or an errno value
 * when the thread cannot be started. */
int scheduler_start(struct server *s, pthread_t *th);
void scheduler_stop(struct server *s, pthread_t th);

/* How long an experiment's conclude or abort through the API waits for the environment's lock
 * (the scheduler holds it for a tick, briefly) before answering 409. */
#define EXPERIMENT_LOCK_WAIT_MS 10000

/* The experiment routes (experiments.c). */
void h_experiments(struct req *r);
void h_experiment(struct req *r);
void h_experiment_conclude(struct req *r);
void h_experiment_abort(struct req *r);
/* The directory of the registered project named by r->params[0] (heap) once r's subject may do
 * the route's action on object; NULL after replying 403 or 404 (routes.c). */
char *srv_authorized_project(struct req *r, const char *object);
/* Conclude (winner NULL: the decided verdict) or abort (conclude false) the experiment r->params[2]
 * of project path (taken) and environment r->params[1] on a worker thread, answered as the rollout
 * actions are: 202 {id, project, environment, experiment, action, status, href} with a Location
 * once recorded as a deployment, or the problem when it failed before (routes.c). */
void srv_experiment_job(struct req *r, char *path, bool conclude, const char *winner);

/* The value of query parameter key, or NULL; whether key is present at all ("?verbose"). */
const char *req_query(struct req *r, const char *key);
bool req_has_query(struct req *r, const char *key);
/* The request body parsed as a JSON object (a new reference), or NULL after replying 400 with a
 * problem document: "expected a JSON body" (none), jansson's message located at the body's line
 * and column (not JSON), or "expected a JSON object". */
json_t *req_body_object(struct req *r);
/* Whether the authenticated subject may do the route's action on object; when not, the reply is
 * set to 403, the denial logged and emitted as a dev.cratis.access.denied event (rate-limited,
 * ACCESS_EVENTS_PER_MINUTE). */
bool req_authorize(struct req *r, const char *object);
/* Whether the authenticated subject may do the route's action on some object (authz_allows_some);
 * when not, as req_authorize's denial with object "(any)". For routes that filter what they
 * answer per object (the event routes). */
bool req_authorize_some(struct req *r);
/* Whether the authenticated subject may do resource's action on object, without replying or
 * logging (a filter's per-item check). */
bool req_may(struct req *r, const char *resource, const char *action, const char *object);
/* Set the reply: a JSON body (taken), or an RFC 9457 problem document with code, detail (NULL:
 * the first error of d) and d's diagnostics as "diagnostics" (file, line, column, field...). */
void reply_json(struct req *r, int code, json_t *body);
void reply_problem(struct req *r, int code, const char *detail, const struct diags *d);
/* A problem for a failed application-layer status: 422 invalid, 404 not found, 409 locked or
 * exists, else 500. */
void reply_diags(struct req *r, int status, const struct diags *d);
int http_code_of(int status);

#endif
