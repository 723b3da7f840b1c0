/* State store interface: recorded resources, deployments and their steps, environment locks held
 * as leases, artifacts and releases. A store is opened by URL; each backend is an ops table chosen
 * by the URL's scheme (sqlite.c today; PostgreSQL later). Every write is a transaction, so a run
 * killed at any point leaves consistent rows: at worst a resource marked pending, which the next
 * run settles. Every read error reaches the caller: a damaged store is an error, never an empty
 * answer. A handle may be used from several threads at once. */
#ifndef CRATIS_STORE_H
#define CRATIS_STORE_H

#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/event.h"

struct store;

/* One recorded resource. All strings are heap-owned by the row (store_rows_release frees). */
struct state_row {
	char *project, *environment, *id, *api_version;
	char *spec;           /* JSON of the last successfully applied spec, or NULL (never applied) */
	char *outputs;        /* JSON object of outputs, or NULL */
	char *deps;           /* JSON array of ids this resource depended on when applied */
	char *status;         /* "ready", "pending" (a run was interrupted) or "failed" */
	char *pending_spec;   /* JSON spec being applied while pending/failed, or NULL */
	char *message;        /* last error, or NULL */
	char *updated;        /* RFC 3339, from the store's clock */
	int64_t deployment;   /* id of the deployment that last touched it */
	char *owner;          /* a child resource (store_children): "Rollout/NAME" or "Experiment/NAME"
	                       * that owns it, as a Kubernetes ownerReference; NULL for a resource of
	                       * the manifests. Backends leave it NULL */
};

struct state_rows {
	struct state_row *v;
	size_t n, alloc;
};

/* Lease duration used when lock_info.lease_ms is 0 (milliseconds). */
#define STORE_LEASE_MS_DEFAULT 30000

/* An environment lock: a lease held by one run. The caller fills environment, owner (optional),
 * pid, host, user, command and lease_ms; store_lock fills the rest. */
struct lock_info {
	char id[40];          /* random hex id of this acquisition, used by `state unlock ID` */
	char environment[128];
	char owner[128];      /* owner id (a run id); "" = "user@host:pid" filled by store_lock */
	long pid;
	char host[128], user[64], command[256];
	char since[32];       /* RFC 3339 of acquired */
	int64_t acquired;     /* ms since the Unix epoch, store clock */
	int64_t heartbeat;    /* last renewal, ms since the epoch */
	int64_t expires;      /* heartbeat + lease_ms: after it, another run may take the lock over */
	int lease_ms;         /* lease duration in ms; 0 = STORE_LEASE_MS_DEFAULT */
	int64_t deployment;   /* deployment the holder is running, 0 = none (yet) */
};

struct deployment {
	int64_t id;
	char *project, *environment, *command, *user, *host, *started, *finished;
	char *result;         /* running, succeeded, failed, interrupted (its run died) */
	char *summary;
	char *inputs;         /* JSON {"variables":{...},"artifacts":{NAME:{version,digest}}} it deployed */
};

struct deployments {
	struct deployment *v;
	size_t n, alloc;
};

struct step {
	char *resource, *action, *result, *message, *started, *finished;
};

struct steps {
	struct step *v;
	size_t n, alloc;
};

/* A recorded build artifact (image, package): one row per recorded digest. */
struct artifact {
	char *name, *version, *digest, *recorded, *user;
	bool current;         /* the digest deployments resolve for this name and version */
	bool snapshot;        /* a SNAPSHOT version: overridable */
};

struct artifacts {
	struct artifact *v;
	size_t n, alloc;
};

/* Where release ports come from (store_release_allocate): [lo, hi] on 127.0.0.1, tried from
 * start (wrapping); usable (or NULL) says whether a port can be bound right now. */
struct port_range {
	int lo, hi, start;
	bool (*usable)(int port, void *payload);
	void *payload;
};

/* One release of a Rollout: a process of the application beside the others. */
struct release {
	char *project, *environment, *rollout, *id;
	char *colour;         /* "blue" or "green" */
	int port;             /* 127.0.0.1 port the release listens on */
	char *spec;           /* the Service spec it runs (JSON) */
	char *status;         /* preview, active, previous, failed, aborted, retired */
	char *stage;          /* last stage reached (beforePreProd ... afterPostProd, rollback) */
	char *log;            /* JSON array of {stage, result, output, at} */
	char *created, *updated;
	int64_t retire_at;    /* unix time after which a previous release is scaled down; 0 = keep */
};

struct releases {
	struct release *v;
	size_t n, alloc;
};

/* A record: a JSON document the application layer keeps in the store beside resources and
 * releases, for what has no table of its own: an experiment's state, a team, a namespace, an
 * environment's master record, a pull agent's report. Keyed by (kind, scope, name); revision
 * counts the writes (1 on insert) so that writers can compare-and-set. */
struct record {
	char *kind;           /* [a-z][a-z0-9-]*, e.g. "experiment", "team"; required */
	char *scope;          /* what the name is unique within: "" (global), "ENV/PROJECT", a team... */
	char *name;           /* required, non-empty */
	char *body;           /* a JSON object, as text; never a secret in clear */
	int64_t revision;     /* 1 after the insert, +1 per update */
	char *created, *updated;  /* RFC 3339 UTC, from the store clock */
};

struct records {
	struct record *v;
	size_t n, alloc;
};

/* store_record_put / store_record_delete: write whatever revision is recorded (or none). */
#define STORE_REV_ANY ((int64_t)-1)

/* What artifact_record did. */
enum artifact_outcome { ARTIFACT_NEW, ARTIFACT_SAME, ARTIFACT_REPLACED };

/* An event for the outbox (src/events/event.h), written in the same transaction as a unit's
 * change: the store gives it its sequence number, and its time from the store clock. Borrowed. */
struct store_event {
	const char *type;     /* CloudEvents type ("dev.cratis.resource.changed"); required */
	const char *subject;  /* the resource address, or NULL */
	const char *data;     /* JSON object text, or NULL; never a secret in clear */
	const char *source;   /* "/projects/P/environments/E"; required */
	const char *id;       /* event id, or NULL: a new UUID v4 (cloud_event_new_id) */
};

/* What the events of an operation may depend on that is only known inside its transaction
 * (struct store_emits). Borrowed for the callback. */
struct store_emit_info {
	int64_t deployment;               /* deployment begin: the id just allocated; finish: d->id; else 0 */
	const struct lock_info *lock;     /* lock: the lock being taken (id, owner, ... filled); else NULL */
	const struct lock_info *previous; /* lock: the holder taken over in the same transaction, or NULL */
};

/* Outbox events an operation other than store_commit writes in the same transaction as its
 * change (store_deployment_begin_ev, store_deployment_finish_ev, store_lock_ev,
 * store_releases_put_ev): the change commits with every one of its events or, when any insert
 * fails, neither the change nor any event is written. Borrowed for the call. */
struct store_emits {
	const struct store_event *events; /* n events, each with type and source */
	size_t n;
	/* Or NULL. Called inside the transaction, once per event i (in order), after the change is
	 * made and before the events are inserted: the JSON object text it returns (heap; the store
	 * frees it) replaces events[i].data; NULL keeps events[i].data. It must not call the store. */
	char *(*data_for)(const struct store_emit_info *info, size_t i, void *payload);
	void *payload;
};

/* For backends: the events of em (em->n of them) with data_for applied for info, into *out (a
 * heap array; free with store_emits_free(*out, em->n)). Always succeeds (allocation failure aborts
 * as xmalloc does). */
void store_emits_resolve(const struct store_emits *em, const struct store_emit_info *info, struct store_event **out);
/* Free what store_emits_resolve returned for n events (the data strings data_for made). */
void store_emits_free(struct store_event *v, size_t n);

/* One page of outbox events, in seq order. Each is heap-owned (store_events_release). */
struct store_events {
	struct cloud_event *v;
	size_t n, alloc;
};

/* Which outbox events store_events lists. */
struct event_query {
	int64_t after_seq;    /* only seq > after_seq (0: from the first) */
	const char *since;    /* only time >= since (RFC 3339, compared as text), or NULL */
	const char *type;     /* type filter: exact, or a prefix ending in '*'; NULL = all */
	const char *subject;  /* subject filter, same syntax; NULL = all */
	const char *id;       /* only the event with this id, or NULL */
	size_t limit;         /* at most this many (after filters); 0 = no limit */
};

/* A pending delivery of an event to a sink: the event and its attempts so far. */
struct event_delivery {
	struct cloud_event ev;
	int attempts;             /* failed attempts so far (0: never tried) */
	int64_t first_attempt_ms; /* store clock of the first attempt, 0 when never tried */
	int64_t next_attempt_ms;  /* not before this (store clock ms); 0 = at once */
};

struct event_deliveries {
	struct event_delivery *v;
	size_t n, alloc;
};

/* What store_delivery_mark writes for one (sink, event). */
enum delivery_status { DELIVERY_PENDING, DELIVERY_DELIVERED, DELIVERY_DEAD, DELIVERY_SKIPPED };
struct delivery_mark {
	int64_t seq;                  /* the event (store_delivery_marks; store_delivery_mark sets it) */
	enum delivery_status status; /* PENDING: failed, retry at next_attempt_ms; DELIVERED; DEAD
	                              * (dead letter: no more attempts); SKIPPED (filtered out) */
	int attempts;
	int64_t first_attempt_ms;
	int64_t next_attempt_ms;
	const char *error;            /* why the last attempt failed, or NULL; no secrets */
};

/* A sink's state in the store (`cratis events sinks`). Strings heap-owned (store_sink_status_release). */
struct store_sink_status {
	bool disabled;                /* after a 410 Gone, until `cratis events sinks --enable` */
	char *reason;                 /* why it was disabled, or NULL */
	char *last_error;             /* the last failed attempt's message, or NULL */
	char *last_delivered;         /* RFC 3339 of the last delivery, or NULL */
	int64_t backlog;              /* events neither delivered, dead nor skipped for this sink */
	int64_t delivered, dead;      /* events delivered / dead-lettered */
};

/* The resource change a unit of work commits. */
enum store_change {
	STORE_CHANGE_NONE,    /* only the step (and events) */
	STORE_CHANGE_PENDING, /* mark row pending before a plugin call (keeps the recorded spec) */
	STORE_CHANGE_RECORD,  /* record the outcome of a plugin call ("ready" or "failed") */
	STORE_CHANGE_REMOVE,  /* forget a destroyed resource (row->project, row->id) */
	STORE_CHANGE_RENAME,  /* give recorded resource unit->old_id of row->project the id row->id
	                       * (`state mv`): spec, outputs, status kept; updated and deployment
	                       * set. CRATIS_ENOTFOUND when old_id is not recorded, CRATIS_EEXISTS when
	                       * row->id already is, both with nothing written */
};

/* One unit of work: a resource change, its history step and its outbox events, committed in one
 * transaction. Everything is borrowed from the caller for the duration of store_commit. */
struct store_unit {
	const char *environment;
	enum store_change change;
	const struct state_row *row;   /* the resource (required unless change is NONE) */
	const struct step *step;       /* history step, or NULL */
	int64_t deployment;            /* deployment the change and step belong to */
	const struct store_event *events;  /* outbox rows written with the change (may be NULL/0) */
	size_t nevents;
	const char *old_id;            /* STORE_CHANGE_RENAME: the id recorded now ("Kind/name") */
};

/* Clock of a store: milliseconds since the Unix epoch. Every timestamp a store writes (updated,
 * recorded, lock acquired/heartbeat/expiry, deployments closed as interrupted) comes from it. */
typedef int64_t (*store_clock_fn)(void *payload);

/* ---- whole-store copies (`cratis state migrate`) ---- */

/* The tables a dump holds, in the order they are loaded (deployments before what names them). */
enum store_table {
	STORE_T_DEPLOYMENTS, STORE_T_STEPS, STORE_T_RESOURCES, STORE_T_ARTIFACTS, STORE_T_RELEASES,
	STORE_T_EVENTS, STORE_T_DELIVERIES, STORE_T_SINKS, STORE_T_RECORDS,
	STORE_T__COUNT
};

/* A table as both backends keep it: its name, the columns a copy carries (the same names and
 * meanings in every backend; surrogate keys other than deployments.id are left out, rows keep
 * their order instead) and the order rows are dumped and loaded in. */
struct store_table_def {
	const char *name;             /* "deployments" */
	const char *const *columns;   /* ncolumns names, unquoted */
	size_t ncolumns;
	const char *order;            /* ORDER BY over columns ("environment, project, id"), or NULL */
	bool then_insertion;          /* after order, the order rows were inserted in (the backend's
	                               * own sequence: SQLite's rowid, PostgreSQL's seq or id column) */
};
/* The definition of table t (static). */
const struct store_table_def *store_table_def(enum store_table t);

/* One dumped table: nrows rows of def->ncolumns cells each, row-major; a cell is the column's
 * text (integers in decimal) or NULL for SQL NULL. Heap-owned by the dump. */
struct store_table_dump {
	size_t nrows, alloc;          /* alloc counts cells */
	char **cells;
};

/* Everything a store records except locks and its schema bookkeeping, read in one consistent
 * snapshot. */
struct store_dump {
	struct store_table_dump t[STORE_T__COUNT];
	size_t nlocks;                /* locks held when the snapshot was taken (not copied) */
};

/* Free what d holds and zero it. */
void store_dump_release(struct store_dump *d);
/* For backends: append a row of n cells (each borrowed, copied; NULL = SQL NULL) to t. */
void store_dump_add_row(struct store_table_dump *t, const char *const *cells, size_t n);

/* A backend's ops table, chosen by URL scheme (like sqlite3_vfs). Fields are only appended;
 * version says which exist. Version 1 is the set up to schema_version, version 2 adds dump and
 * load, version 3 the outbox (events to sink_status), version 4 gives try_lock,
 * deployment_begin, deployment_finish and release_put the outbox events they write in their own
 * transaction (em: NULL or em->n == 0 = none; events' deployment column is info.deployment, see
 * struct store_emit_info; an event insert that fails rolls the whole change back and is
 * returned, CRATIS_EIO). Backends implement these; callers use the store_* functions. Every op
 * sets the last error when it returns non-zero. */
#define STORE_OPS_VERSION 5
struct store_ops {
	int version;          /* STORE_OPS_VERSION the backend was written against */
	const char *name;     /* "sqlite" */
	void (*close)(struct store *s);
	/* One attempt: take me's lock, or CRATIS_ELOCKED with *holder filled. A holder for which
	 * store_lock_takeable() is true is replaced, and its deployment (if running) closed as
	 * interrupted, in the same transaction; *took_over says so (holder filled). */
	int (*try_lock)(struct store *s, struct lock_info *me, struct lock_info *holder, bool *took_over,
	                const struct store_emits *em);
	int (*renew)(struct store *s, const char *lock_id);
	/* Delete lock lock_id; when force is false, refuse a live holder (CRATIS_ELOCKED). When
	 * close_dead, the deployment of a holder that is not alive is closed as interrupted. */
	int (*unlock)(struct store *s, const char *lock_id, bool force, bool close_dead, struct lock_info *holder);
	int (*lock_set_deployment)(struct store *s, const char *lock_id, int64_t deployment);
	int (*locks)(struct store *s, struct lock_info **out, size_t *n);
	int (*list)(struct store *s, const char *environment, const char *project, struct state_rows *out);
	int (*commit)(struct store *s, const struct store_unit *u);
	/* lock_id: this handle's lock on d->environment (or NULL): it records d->id in the same
	 * transaction. */
	int (*deployment_begin)(struct store *s, struct deployment *d, const char *lock_id, const struct store_emits *em);
	int (*deployment_finish)(struct store *s, const struct deployment *d, const struct store_emits *em);
	int (*history)(struct store *s, const char *environment, int limit, struct deployments *out);
	int (*steps)(struct store *s, int64_t deployment, struct steps *out);
	int (*artifact_record)(struct store *s, const struct artifact *a, enum artifact_outcome *outcome,
	                       struct artifact *existing);
	int (*artifacts)(struct store *s, const char *name, bool history, struct artifacts *out);
	/* Insert or update the n releases of v in one transaction: all or none (a switch between
	 * releases is one unit of work), with em's events. */
	int (*release_put)(struct store *s, const struct release *v, size_t n, const struct store_emits *em);
	int (*releases)(struct store *s, const char *environment, const char *project, const char *rollout,
	                struct releases *out);
	int (*schema_version)(struct store *s, int *out);
	/* Version 2. Read every table of enum store_table (rows in store_table_def order) and the
	 * number of locks, in one read-only snapshot, into *out (zeroed first). CRATIS_EIO. */
	int (*dump)(struct store *s, struct store_dump *out);
	/* Version 2. In one transaction: refuse with CRATIS_EEXISTS (nothing written) when the store
	 * holds any row in a table of enum store_table or a lock; else insert every row of in, keeping
	 * deployments.id, in order, and move id sequences past what was inserted. CRATIS_EIO. */
	int (*load)(struct store *s, const struct store_dump *in);
	/* rollout: the port allocator. In one transaction: read the ports every release recorded in
	 * the store holds (with their status), pick one with store_port_pick, set r->port and insert
	 * or update r. NULL in a backend without it. */
	int (*release_allocate)(struct store *s, struct release *r, const struct port_range *range);
	/* Version 3: the outbox, each as the store_* function of the same name (after the checks and
	 * filters store.c does). events returns every event with seq > q->after_seq, time >= q->since
	 * and id = q->id (those set), in seq order; store.c applies type, subject and limit. */
	int (*events)(struct store *s, const struct event_query *q, struct store_events *out);
	int (*deliveries)(struct store *s, const char *sink, size_t limit, struct event_deliveries *out);
	int (*delivery_mark)(struct store *s, const char *sink, const struct delivery_mark *m, size_t n);
	int (*sink_set_disabled)(struct store *s, const char *sink, bool disabled, const char *reason);
	int (*sink_status)(struct store *s, const char *sink, struct store_sink_status *out);
	int (*redeliver)(struct store *s, const char *sink, const char *event_id, const char *since, size_t *n);
	/* Version 5: records, each as the store_record_* function of the same name (after the
	 * checks store.c does). */
	int (*record_put)(struct store *s, struct record *r, int64_t expect, const struct store_emits *em);
	int (*record_get)(struct store *s, const char *kind, const char *scope, const char *name, struct record *out);
	int (*records)(struct store *s, const char *kind, const char *scope, struct records *out);
	int (*record_delete)(struct store *s, const char *kind, const char *scope, const char *name, int64_t expect,
	                     const struct store_emits *em);
};

/* A backend: the scheme it serves and how to open it. */
struct store_backend {
	int version;          /* 1 */
	const char *scheme;   /* "sqlite" serves "sqlite:PATH" */
	/* Open target (the URL after "scheme:"); url is the whole URL for messages. */
	int (*open)(struct store **out, const char *target, const char *url);
};

/* The handle every backend embeds first. Backends own it; callers treat it as opaque. */
struct held_lock {
	char id[40], environment[128];
};
struct store {
	const struct store_ops *ops;
	char *path;           /* what messages name: the file, or the URL without credentials */
	store_clock_fn clock;
	void *clock_payload;
	pthread_mutex_t held_mu;  /* guards held */
	struct held_lock *held; /* locks taken through this handle and not yet released */
	size_t nheld, aheld;
};

/* Open the store that url names: "sqlite:PATH" (also "sqlite://PATH"), or a plain PATH taken as
 * sqlite ("./x:y" forms need the scheme). A missing database is created (a SQLite file with mode
 * 0600) and migrated to the newest schema; an older one is migrated in one transaction.
 * Returns CRATIS_OK with *out set (free with store_close). Errors: CRATIS_EINVAL for an unknown
 * scheme (the message names the schemes this build knows) or a schema newer than this binary
 * (naming both versions); CRATIS_EIO when it cannot be opened, is empty (zero bytes), is not a
 * database, is a database without cratis' tables, or a migration failed. */
int store_open(struct store **out, const char *url);
/* Same as store_open(out, path) for a plain file path (kept for existing callers). */
int store_open_sqlite(struct store **out, const char *path);
/* Close s and free it; NULL is a no-op. Locks still held stay in the store (their lease expires). */
void store_close(struct store *s);
/* Schemes this build can open, comma-separated ("sqlite"); static string. */
const char *store_schemes(void);
/* Name of s's backend ("sqlite"). */
const char *store_backend_name(const struct store *s);
/* Schema version of the open store (the newest migration applied) into *out. */
int store_schema_version(struct store *s, int *out);
/* Newest schema version this binary knows: every backend migrates to the same numbered schema
 * (1 = the unversioned schema of cratis 0.1, 2 = locks as leases, 3 = the event outbox,
 * 4 = records). */
#define STORE_SCHEMA_LATEST 4

/* Replace s's clock (fn NULL restores the real one: CLOCK_REALTIME). Not thread-safe against
 * calls running on s: set it before use. */
void store_set_clock(struct store *s, store_clock_fn fn, void *payload);
/* Now on s's clock, in ms since the Unix epoch. */
int64_t store_now(const struct store *s);
/* Format ms since the epoch as RFC 3339 UTC ("2026-01-01T00:00:00Z"). */
void store_format_time(int64_t ms, char out[32]);

/* Take the environment lock for me (id, owner when empty, acquired, heartbeat, expires, since
 * filled here). A holder is taken over at once when it is on this host and its pid is gone, and
 * otherwise only when its lease has expired; its running deployment is then closed as
 * interrupted in the same transaction. On success *holder is zeroed, or, after a takeover, holds
 * the lock taken over (holder->id non-empty) so that the caller can say so. While another run holds
 * the lock, retry for up to timeout_ms of real time (0 = fail at once) and then return
 * CRATIS_ELOCKED with *holder filled and a message naming it. CRATIS_EIO on a store error. */
int store_lock(struct store *s, struct lock_info *me, int timeout_ms, struct lock_info *holder);
/* store_lock, writing em's events (may be NULL) in the transaction that takes the lock (the
 * lock.taken event): data_for sees info.lock = me and info.previous = the holder taken over (or
 * NULL). Only the attempt that takes the lock writes them. CRATIS_EINVAL (nothing done) for an
 * event without type or source; an event insert that fails leaves the lock untaken (CRATIS_EIO). */
int store_lock_ev(struct store *s, struct lock_info *me, int timeout_ms, struct lock_info *holder,
                  const struct store_emits *em);
/* Extend lock lock_id's lease: heartbeat = now, expires = now + its lease. CRATIS_ENOTFOUND when
 * the lock is gone (released or taken over: the caller no longer holds it), CRATIS_EIO. */
int store_lock_renew(struct store *s, const char *lock_id);
/* Record that lock lock_id is running deployment (so that a run taking the lock over can close
 * it as interrupted). store_deployment_begin does this itself for the lock this handle holds on
 * the deployment's environment. CRATIS_ENOTFOUND, CRATIS_EIO. */
int store_lock_set_deployment(struct store *s, const char *lock_id, int64_t deployment);
/* Release lock lock_id, held through this handle (no liveness check). CRATIS_ENOTFOUND when no
 * such lock exists, CRATIS_EIO. */
int store_unlock(struct store *s, const char *lock_id);
/* Release somebody else's lock lock_id (`state unlock`). A live holder (on this host with a live
 * pid, or elsewhere with an unexpired lease) is refused with CRATIS_ELOCKED naming it, unless
 * force. The holder's running deployment is closed as interrupted (a live one forced open finds
 * its lock gone and stops). *holder
 * (may be NULL) gets the lock as it was. CRATIS_ENOTFOUND, CRATIS_EIO. */
int store_lock_break(struct store *s, const char *lock_id, bool force, struct lock_info *holder);
/* Every lock held, ordered by environment; *out is heap (free()), NULL when *n is 0. */
int store_locks(struct store *s, struct lock_info **out, size_t *n);
/* Whether holder's run is alive at now (ms, store clock): on this host, its pid runs; on another
 * host, its lease has not expired. */
bool store_lock_alive(const struct lock_info *holder, int64_t now);
/* Whether another run may take holder's lock at now: on this host when its pid is gone (a live
 * run on this host keeps its lock even when stopped or asleep: takeover and `state unlock` agree);
 * on another host when its lease has expired. */
bool store_lock_takeable(const struct lock_info *holder, int64_t now);
/* For a backend's unlock op: set the last error that `state unlock` without --force refuses
 * holder, which is alive (naming it and why: its lease or its process on this host), and
 * return CRATIS_ELOCKED. */
int store_refuse_live_holder(const struct lock_info *holder);

/* Renews a lease from a thread every lease/3 until stopped (for the run that holds the lock,
 * during apply and destroy). */
struct lock_keeper;
/* Start renewing lock lock_id of s every lease_ms/3 (lease_ms 0 = the default). s must outlive
 * the keeper. When a renewal fails (the lock was lost, the store fails) and lost is not NULL,
 * the keeper sets *lost to CANCEL_LEASE_LOST if it is 0, so that the run it guards starts
 * nothing new (src/util/subprocess.h). CRATIS_OK with *out set, CRATIS_ERROR when the thread
 * cannot be created. */
int lock_keeper_start(struct lock_keeper **out, struct store *s, const char *lock_id, int lease_ms,
                      atomic_int *lost);
/* Stop and free k (NULL: no-op, CRATIS_OK). Returns CRATIS_OK, or the first renewal error (the
 * last error is set: CRATIS_ENOTFOUND when the lock was lost to another run); the keeper stops
 * renewing after an error. */
int lock_keeper_stop(struct lock_keeper *k);

/* Recorded resources of environment, of project (NULL = every project), ordered by project and
 * id, with the child resources of every Rollout among them (store_children: rows with owner
 * set). *out is always initialised (empty on error). CRATIS_EIO when the store cannot be read. */
int store_list(struct store *s, const char *environment, const char *project, struct state_rows *out);
void store_rows_release(struct state_rows *rows);
/* Keep the rows for which keep(row, payload) is true (in order), free the others. */
/* The child resources of the Rollouts among rows (recorded in environment), appended to rows,
 * which are then sorted by (project, id) again. A Rollout's children are projections of its
 * release rows (store_releases), so a child exists exactly while its release row says it runs,
 * with no second write to keep in step:
 *   - "Service/NAME.RELEASE" (apiVersion service/v1) for each release whose status runs
 *     (store_release_runs): spec the Service spec it runs, outputs {release, status, colour,
 *     port, url, stage, experiment?}, owner "Rollout/NAME", or "Experiment/X" for a variant of a
 *     running experiment X;
 *   - "Route/NAME" (router/v1) while any does: spec {activePort, previewPort, upstreams:
 *     [{service, port, weight, status}]} (weights 100 for the active release, 0 for the others,
 *     an experiment's split for its variants), outputs {router: the Route handler's spec the
 *     Rollout writes now (store_route_spec), left out while an experiment's split is live},
 *     owner "Rollout/NAME".
 * Each child has status "ready", deps starting with its parent "Rollout/NAME" (the Route's then
 * lists the Services it routes to, so that a destroy stops the Route first) and the Rollout's
 * deployment. store_list calls it.
 * Returns CRATIS_OK, or the status of store_releases (CRATIS_EIO) with the last error set; the
 * children of earlier Rollouts are then in rows. */
int store_children(struct store *s, const char *environment, struct state_rows *rows);
/* The spec of the Route handler (router/v1) a Rollout writes for its router, as heap JSON text
 * (compact, sorted keys): the public address active_port to 127.0.0.1:active and the preview
 * address preview_port to 127.0.0.1:preview; with active 0 (nothing live yet) only the preview
 * address, to preview. The Rollout (ro_route) and its Route child (outputs.router, refreshed by
 * the engine) use this one function. Always succeeds. */
char *store_route_spec(int active_port, int preview_port, int active, int preview);
/* True when a release with this status has a running process (a child Service): active,
 * preview, previous, variant, and the transient promoting, retiring, failing. */
bool store_release_runs(const char *status);
void store_rows_keep(struct state_rows *rows, bool (*keep)(const struct state_row *r, void *payload), void *payload);
/* Row with project/id in rows, or NULL. */
struct state_row *store_rows_find(struct state_rows *rows, const char *project, const char *id);

/* Commit unit u (resource change + step + outbox events) in one transaction. CRATIS_EINVAL for a
 * unit without a row, an event without type or source, or a RENAME without old_id; CRATIS_EIO; a
 * RENAME's CRATIS_ENOTFOUND and CRATIS_EEXISTS (enum store_change). */
int store_commit(struct store *s, const struct store_unit *u);
/* Mark r (project, id, api_version, pending_spec, deps, deployment) pending before a plugin call;
 * keeps the previously recorded spec and outputs. A unit with change PENDING and no step. */
int store_mark_pending(struct store *s, const char *environment, const struct state_row *r);
/* Record the outcome of a plugin call and its history step in one transaction. On success
 * (r->status "ready") spec/outputs/deps replace the recorded ones; on failure ("failed") the
 * recorded spec stays and message is kept. A unit with change RECORD. */
int store_record(struct store *s, const char *environment, const struct state_row *r,
                 const struct step *st, int64_t deployment);
/* Forget a destroyed resource and record the step, in one transaction (change REMOVE). */
int store_remove(struct store *s, const char *environment, const char *project, const char *id,
                 const struct step *st, int64_t deployment);

/* Rename recorded resource old_id of project to new_id and record the step, in one transaction
 * (change RENAME). */
int store_rename(struct store *s, const char *environment, const char *project, const char *old_id,
                 const char *new_id, const struct step *st, int64_t deployment);

/* Start a deployment record (d->id set here; result "running"); when this handle holds the lock
 * of d->environment, the lock records d->id in the same transaction. / Write its result, summary
 * and end time. CRATIS_EIO. */
int store_deployment_begin(struct store *s, struct deployment *d);
int store_deployment_finish(struct store *s, const struct deployment *d);
/* The same, writing em's events (may be NULL) in the deployment's transaction, with the
 * deployment id in their deployment column. For begin, em->data_for sees info.deployment = the
 * id just allocated (d->id is only set once everything committed), so that deployment.started
 * can name it. CRATIS_EINVAL (nothing written) for an event without type or source; an event
 * insert that fails writes nothing: no deployment (d->id untouched) or no result (CRATIS_EIO). */
int store_deployment_begin_ev(struct store *s, struct deployment *d, const struct store_emits *em);
int store_deployment_finish_ev(struct store *s, const struct deployment *d, const struct store_emits *em);
/* Newest first, at most limit (0 = all); environment NULL = every environment. *out is always
 * initialised (empty on error). CRATIS_EIO. */
int store_history(struct store *s, const char *environment, int limit, struct deployments *out);
void store_deployments_release(struct deployments *d);
/* Steps of deployment in the order they were recorded. *out always initialised. CRATIS_EIO. */
int store_steps(struct store *s, int64_t deployment, struct steps *out);
void store_steps_release(struct steps *st);

/* Record artifact a (name, version, digest, snapshot, user) in one transaction. A version seen
 * before with the same digest: ARTIFACT_SAME, nothing written. A snapshot with a new digest:
 * ARTIFACT_REPLACED, the previous row kept as history. A stable version with a new digest:
 * refused with CRATIS_EEXISTS and *existing filled (release with artifact_release). CRATIS_EIO. */
int store_artifact_record(struct store *s, const struct artifact *a, enum artifact_outcome *outcome,
                          struct artifact *existing);
/* Current artifacts (history: every recorded row), of name or all when NULL, newest first. *out
 * always initialised. CRATIS_EIO. */
int store_artifacts(struct store *s, const char *name, bool history, struct artifacts *out);
void store_artifacts_release(struct artifacts *a);
void artifact_release(struct artifact *a);

/* Insert or update release r (keyed by environment, project, rollout, id) in one transaction. */
int store_release_put(struct store *s, const struct release *r);
/* Insert or update the n releases of v (n >= 1) in one transaction: after a crash either every
 * row has its new value or none has. Returns CRATIS_OK, CRATIS_EINVAL for n == 0, or CRATIS_EIO
 * (nothing written). */
int store_releases_put(struct store *s, const struct release *v, size_t n);
/* store_releases_put with em's events (may be NULL; deployment column NULL) in the same
 * transaction: a release switch and its rollout.promoted / rollout.rolledback event commit
 * together or not at all. CRATIS_EINVAL (nothing written) for an event without type or source. */
int store_releases_put_ev(struct store *s, const struct release *v, size_t n, const struct store_emits *em);
/* The port allocator of releases: hand out a port for r and record r with it (insert or update),
 * in one transaction, so that two runs sharing the store never hand out the same port. The port
 * is the first from range->start (wrapping within [lo, hi]) that no release recorded in the
 * store holds (in any environment, project or rollout; a failed or aborted release holds none)
 * and that range->usable accepts; when every port is held, one held only by a retired release
 * (whose process is stopped) is handed out again. Returns CRATIS_OK with r->port set,
 * CRATIS_EINVAL for an empty range, CRATIS_ENOTFOUND when no port is left (the message says how
 * many are held), CRATIS_EIO (nothing written). */
int store_release_allocate(struct store *s, struct release *r, const struct port_range *range);
/* For backends: the port store_release_allocate hands out, given the ports releases hold
 * (ports[i] with held_retired[i] true when only retired releases hold it); 0 when none. */
int store_port_pick(const int *ports, const bool *retired_only, size_t n, const struct port_range *range);
/* Releases of a rollout, newest first. *out always initialised. CRATIS_EIO. */
int store_releases(struct store *s, const char *environment, const char *project, const char *rollout,
                   struct releases *out);
void store_releases_release(struct releases *r);

/* ---- the event outbox (docs/events.md) ---- */

/* Write events (nevents, may be 0) for environment and deployment (0 = none) in one transaction
 * of their own: a unit with change NONE. CRATIS_EINVAL (an event without type or source), CRATIS_EIO. */
int store_emit(struct store *s, const char *environment, int64_t deployment, const struct store_event *events,
               size_t nevents);
/* Outbox events matching q, in seq order, into *out (always initialised; empty on error).
 * CRATIS_EIO. */
int store_events(struct store *s, const struct event_query *q, struct store_events *out);
void store_events_release(struct store_events *e);
/* The events that sink has not settled (no delivery row, or one still pending), in seq order,
 * at most limit (0 = all), with their attempts. *out always initialised. CRATIS_EIO. */
int store_deliveries(struct store *s, const char *sink, size_t limit, struct event_deliveries *out);
void store_deliveries_release(struct event_deliveries *d);
/* Record how delivering event seq to sink went (*m), in one transaction with the sink's last
 * error / last delivery. CRATIS_EIO. */
int store_delivery_mark(struct store *s, const char *sink, int64_t seq, const struct delivery_mark *m);
/* The same for n marks (each naming its event in m[i].seq, each event at most once), in one transaction: the dispatcher
 * marks what a sink confirmed in batches (a crash before the batch is written only means those
 * events are sent again: at least once). CRATIS_EIO. */
int store_delivery_marks(struct store *s, const char *sink, const struct delivery_mark *m, size_t n);
/* Disable sink (reason kept: "410 Gone from ...") or enable it again. CRATIS_EIO. */
int store_sink_set_disabled(struct store *s, const char *sink, bool disabled, const char *reason);
/* The state of sink into *out (zeroed first; a sink never seen: all zero but its backlog).
 * CRATIS_EIO. */
int store_sink_status(struct store *s, const char *sink, struct store_sink_status *out);
void store_sink_status_release(struct store_sink_status *st);
/* Make deliveries pending again (attempts reset): of event event_id (or every event when NULL)
 * whose time >= since (NULL: any), to sink (NULL: every sink). *n (may be NULL) gets how many
 * delivery rows were reset. CRATIS_EINVAL when neither event_id nor since is given, CRATIS_EIO. */
int store_redeliver(struct store *s, const char *sink, const char *event_id, const char *since, size_t *n);

/* ---- records ---- */

/* Insert or update record r (kind, scope, name, body; created, updated and revision are
 * ignored on input) with em's events (may be NULL) in one transaction. expect is the revision
 * the caller read: STORE_REV_ANY writes unconditionally, 0 inserts only (the record must not
 * exist), N > 0 updates only the record at revision N (compare-and-set). On success r->revision,
 * r->created and r->updated are set to what was written (the strings replaced, heap-owned).
 * Returns CRATIS_OK; CRATIS_EINVAL for a kind not matching [a-z][a-z0-9-]*, an empty name, a NULL
 * scope, or a body that is not a JSON object (nothing written); CRATIS_EEXISTS when expect == 0
 * and the record exists, or expect > 0 and its revision is another (the message says which
 * revision the store holds; nothing written); CRATIS_ENOTFOUND when expect > 0 and there is no
 * such record; CRATIS_EIO (nothing written). */
int store_record_put(struct store *s, struct record *r, int64_t expect, const struct store_emits *em);
/* The record (kind, scope, name) into *out (zeroed first; record_release). CRATIS_ENOTFOUND
 * when there is none, CRATIS_EIO. */
int store_record_get(struct store *s, const char *kind, const char *scope, const char *name, struct record *out);
/* Every record of kind in scope (scope NULL: in every scope), ordered by scope then name, into
 * *out (always initialised; store_records_release). CRATIS_EIO. */
int store_records(struct store *s, const char *kind, const char *scope, struct records *out);
/* Delete the record (kind, scope, name) with em's events in one transaction; expect as for
 * store_record_put (0 is refused: CRATIS_EINVAL). CRATIS_ENOTFOUND when there is none,
 * CRATIS_EEXISTS when its revision is not expect, CRATIS_EIO. */
int store_record_delete(struct store *s, const char *kind, const char *scope, const char *name, int64_t expect,
                        const struct store_emits *em);
/* Free what r holds and zero it. */
void record_release(struct record *r);
void store_records_release(struct records *r);

/* What store_migrate found, per table: rows in the source, rows read back from the target after
 * the copy, and the SHA-256 (hex) of each side's rows in a canonical form. */
struct store_migrate_table {
	const char *name;             /* static */
	size_t source_rows, target_rows;
	char source_sha256[65], target_sha256[65];
};
struct store_migrate_report {
	struct store_migrate_table t[STORE_T__COUNT];
};

/* Copy every resource, deployment, step, artifact and release of from into to (`cratis state
 * migrate`): one read-only snapshot of from, loaded in one transaction on to, then read back from
 * to and compared table by table (row counts and SHA-256 digests, in *report). from is never
 * written. Both stores must have ops version 2. Errors: CRATIS_ELOCKED when from holds a lock
 * (a run may be writing: copy after it, or `state unlock`); CRATIS_EEXISTS when to already holds
 * cratis data (nothing written); CRATIS_EINVAL when a backend cannot dump or load, or from and to
 * are the same store; CRATIS_EIO on a store error, and when what to holds after the copy differs
 * from what was read (the message names the table; report says how). */
int store_migrate(struct store *from, struct store *to, struct store_migrate_report *report);

/* For backends: initialise / release the generic part of a handle (path copied). */
void store_base_init(struct store *s, const struct store_ops *ops, const char *path);
void store_base_release(struct store *s);

#endif
