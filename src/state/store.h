/* State store interface: recorded resources, deployments and their steps, environment locks.
 * Every call is its own transaction, so a run killed at any point leaves consistent rows: at
 * worst a resource marked pending, which the next run settles. Backends: sqlite.c (default). */
#ifndef CRATIS_STORE_H
#define CRATIS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	char *updated;        /* RFC 3339 */
	int64_t deployment;   /* id of the deployment that last touched it */
};

struct state_rows {
	struct state_row *v;
	size_t n, alloc;
};

/* Who holds (or wants) an environment lock. */
struct lock_info {
	char id[40];          /* random hex id, used by `state unlock ID` */
	char environment[128];
	long pid;
	char host[128], user[64], command[256], since[32];
};

struct deployment {
	int64_t id;
	char *project, *environment, *command, *user, *host, *started, *finished, *result, *summary;
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

/* What artifact_record did. */
enum artifact_outcome { ARTIFACT_NEW, ARTIFACT_SAME, ARTIFACT_REPLACED };

struct store_ops {
	void (*close)(struct store *s);
	int (*lock)(struct store *s, struct lock_info *me, int timeout_ms, struct lock_info *holder);
	int (*unlock)(struct store *s, const char *lock_id);
	int (*locks)(struct store *s, struct lock_info **out, size_t *n);
	int (*list)(struct store *s, const char *environment, struct state_rows *out);
	int (*mark_pending)(struct store *s, const char *environment, const struct state_row *r);
	int (*record)(struct store *s, const char *environment, const struct state_row *r,
	              const struct step *st, int64_t deployment);
	int (*remove)(struct store *s, const char *environment, const char *project, const char *id,
	              const struct step *st, int64_t deployment);
	int (*deployment_begin)(struct store *s, struct deployment *d);
	int (*deployment_finish)(struct store *s, const struct deployment *d);
	int (*history)(struct store *s, const char *environment, int limit, struct deployments *out);
	int (*steps)(struct store *s, int64_t deployment, struct steps *out);
	int (*artifact_record)(struct store *s, const struct artifact *a, enum artifact_outcome *outcome,
	                       struct artifact *existing);
	int (*artifacts)(struct store *s, const char *name, bool history, struct artifacts *out);
	int (*release_put)(struct store *s, const struct release *r);
	int (*releases)(struct store *s, const char *environment, const char *project, const char *rollout,
	                struct releases *out);
};

struct store {
	const struct store_ops *ops;
	char *path;
};

/* Open (creating it and its schema when missing) the SQLite store at path, in WAL mode.
 * Returns CRATIS_OK with *out set (free with store_close), or CRATIS_EIO. */
int store_open_sqlite(struct store **out, const char *path);
void store_close(struct store *s);

/* Take the environment lock for me (id, since filled here). When another live run holds it,
 * wait up to timeout_ms (0 = fail at once) and then return CRATIS_ELOCKED with *holder filled.
 * A lock left by a dead process on this host is taken over (a warning is logged). */
int store_lock(struct store *s, struct lock_info *me, int timeout_ms, struct lock_info *holder);
/* Release lock lock_id. CRATIS_ENOTFOUND when no such lock exists. */
int store_unlock(struct store *s, const char *lock_id);
/* Every lock held; *out is heap (free()). */
int store_locks(struct store *s, struct lock_info **out, size_t *n);

/* Every recorded resource of environment, ordered by project and id. */
int store_list(struct store *s, const char *environment, struct state_rows *out);
void store_rows_release(struct state_rows *rows);
/* Row with project/id in rows, or NULL. */
struct state_row *store_rows_find(struct state_rows *rows, const char *project, const char *id);

/* Mark r (project, id, api_version, pending_spec, deps) pending before a plugin call; keeps the
 * previously recorded spec and outputs. */
int store_mark_pending(struct store *s, const char *environment, const struct state_row *r);
/* Record the outcome of a plugin call and its history step in one transaction. On success
 * (r->status "ready") spec/outputs/deps replace the recorded ones; on failure ("failed") the
 * recorded spec stays and message is kept. */
int store_record(struct store *s, const char *environment, const struct state_row *r,
                 const struct step *st, int64_t deployment);
/* Forget a destroyed resource and record the step, in one transaction. */
int store_remove(struct store *s, const char *environment, const char *project, const char *id,
                 const struct step *st, int64_t deployment);

/* Start a deployment record (d->id set here) / write its result and end time. */
int store_deployment_begin(struct store *s, struct deployment *d);
int store_deployment_finish(struct store *s, const struct deployment *d);
/* Newest first, at most limit (0 = all); environment NULL = every environment. */
int store_history(struct store *s, const char *environment, int limit, struct deployments *out);
void store_deployments_release(struct deployments *d);
int store_steps(struct store *s, int64_t deployment, struct steps *out);
void store_steps_release(struct steps *st);

/* Record artifact a (name, version, digest, snapshot, user) in one transaction. A version seen
 * before with the same digest: ARTIFACT_SAME, nothing written. A snapshot with a new digest:
 * ARTIFACT_REPLACED, the previous row kept as history. A stable version with a new digest:
 * refused with CRATIS_EEXISTS and *existing filled (release with artifact_release). */
int store_artifact_record(struct store *s, const struct artifact *a, enum artifact_outcome *outcome,
                          struct artifact *existing);
/* Current artifacts (history: every recorded row), of name or all when NULL, newest first. */
int store_artifacts(struct store *s, const char *name, bool history, struct artifacts *out);
void store_artifacts_release(struct artifacts *a);
void artifact_release(struct artifact *a);

/* Insert or update release r (keyed by environment, project, rollout, id) in one transaction. */
int store_release_put(struct store *s, const struct release *r);
/* Releases of a rollout, newest first. */
int store_releases(struct store *s, const char *environment, const char *project, const char *rollout,
                   struct releases *out);
void store_releases_release(struct releases *r);

#endif
