/* Pull agents (docs/agents.md): a System with `spec.agent: true` is applied by `cratis agent` on
 * its host, never by the server. The server side records the desired work per System in the
 * store (records of kind agent-work, agent, agent-deployment) and settles its deployment when
 * every agent has reported; the agent side polls the server, applies its System's resources with
 * the same engine into its own state directory, and reports. Nothing here prints. */
#ifndef CRATIS_APP_AGENT_H
#define CRATIS_APP_AGENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>

#include "app/app.h"
#include "util/diag.h"
#include "util/util.h"

/* The record kinds of pull agents (store records, src/state/store.h). */
#define AGENT_REC_WORK "agent-work"             /* scope SYSTEM, name ENV/PROJECT: the desired work */
#define AGENT_REC_STATUS "agent"                /* scope "", name SYSTEM: last seen, reports, counter */
#define AGENT_REC_DEPLOYMENT "agent-deployment" /* scope "", name ID: who still has to report */
/* The event written with each report. */
#define AGENT_EVENT_REPORTED "dev.cratis.agent.reported"
/* The longest a work request waits for newer work (seconds). */
#define AGENT_WAIT_MAX 25

/* ---- both sides ---- */

/* The run targets of the open environment (APP_LOAD_MANIFESTS) for one side of a pull
 * deployment, as "project/Kind/name" addresses appended to *targets: system NULL (the server):
 * every resource whose System is not pull-mode (spec.agent: true), and the names of the
 * pull-mode Systems that hold resources of the environment appended to *pull (may be NULL);
 * system NAME (its agent): every resource on System NAME. Either way the recorded resources of
 * the environment that the manifests no longer define are added (so that they are deleted).
 * A dependency between a resource on a pull-mode System and one on another System is refused:
 * CRATIS_EINVAL located at the dependent's spec.dependsOn (one side cannot wait for the other's
 * host). Returns CRATIS_OK (targets may then be empty: nothing for this side), CRATIS_EINVAL,
 * CRATIS_EIO (the store cannot be read), each problem in d. */
int app_agent_targets(struct app *a, const char *system, struct strv *targets, struct strv *pull, struct diags *d);

/* Limit the runs of a (plan and apply) to targets (borrowed: keep it alive and unchanged while a
 * is used). targets->n must be > 0: an empty list would mean "everything". */
void app_agent_limit(struct app *a, const struct strv *targets);

/* ---- the server side ---- */

/* A deployment of a project with resources on pull-mode Systems. Borrowed. */
struct agent_dispatch {
	const char *project;          /* the registered project's name */
	const json_t *location;       /* where the agent reads the manifests: {"path": DIR} or
	                               * {"url", "ref", "subdir"} (a git location, docs/locations.md) */
	const char *environment;      /* the environment resolved (a->model.env_name) */
	const char *command;          /* recorded with the deployment ("cratis serve: POST ...") */
	const struct strv *systems;   /* the pull-mode Systems (app_agent_targets' pull) */
};

/* Start the server deployment of w in a's store (dev.cratis.deployment.started; result running)
 * and record each System's work: its generation counter (record agent/SYSTEM) goes up by one
 * and the work record agent-work/SYSTEM/ENV/PROJECT gets {project, location, environment,
 * generation, deployment, created}. A still-pending deployment the work replaces is settled as
 * superseded for that System. *deployment gets the new deployment's id. Returns CRATIS_OK or
 * CRATIS_EIO (in d; what was written stays: the deployment is then finished as failed). */
int app_agent_dispatch(struct app *a, const struct agent_dispatch *w, int64_t *deployment, struct diags *d);

/* The server's own part of deployment (its resources on other Systems) ended with result
 * ("succeeded", "failed", "interrupted", or "none" when it had none) in its own deployment
 * server_deployment (0: none). Finishes the deployment when every agent has reported too.
 * CRATIS_OK, CRATIS_ENOTFOUND (no such pull deployment), CRATIS_EIO. */
int app_agent_server_done(struct app *a, int64_t deployment, const char *result, int64_t server_deployment,
                          struct diags *d);

/* The work of system newer than generation after: *out (new reference) gets {system,
 * generation (the highest), work: [every work record of the System: {project, location,
 * environment, generation, deployment, created}]} when its highest generation is not after
 * (above it: newer work; below it: the agent comes from another or an older store, and takes
 * this one's), else NULL. CRATIS_OK or CRATIS_EIO. */
int app_agent_work(struct app *a, const char *system, int64_t after, json_t **out, struct diags *d);

/* Note that system's agent asked for work now (lastSeen). CRATIS_OK or CRATIS_EIO. */
int app_agent_seen(struct app *a, const char *system, struct diags *d);

/* Record an agent's report for system: report is the request body {generation (the work list's,
 * an integer >= 0), project, environment, deployment (the server deployment id of the work item,
 * > 0), itemGeneration (the work item's generation, default generation), result ("succeeded",
 * "failed" or "interrupted"), steps (array), outputs (array; a sensitive one's value is replaced
 * by "(sensitive)" whatever the agent sent), message (string), counts (object), reconcile (true: the timer's re-apply repaired drift or failed,
 * not new work)}. The agent
 * record gets lastSeen, reported, generation (the highest applied), result and the item; the
 * report's event dev.cratis.agent.reported is written in the same transaction. The server
 * deployment is settled for system and finished once every agent and the server's own part are
 * done (succeeded only when all succeeded). *out (new reference) gets the agent as
 * app_agents shows it. CRATIS_EINVAL for a malformed report, or one about a project and
 * environment the System was given no work of (located at "request body" and the field),
 * CRATIS_EIO. */
int app_agent_report(struct app *a, const char *system, const json_t *report, json_t **out, struct diags *d);

/* The agents: system NULL: every System that has work or an agent record, as a JSON array
 * sorted by name; else that one System's object. Each is {system, lastSeen, reported,
 * generation (the highest the agent reported), desired (the highest issued), lag (desired -
 * generation), lagSeconds (since the oldest work not reported, 0 when none), result,
 * items: [{project, environment, generation, deployment, result, reported, message?, steps,
 * outputs}]}. CRATIS_ENOTFOUND (system named, but it has neither), CRATIS_EIO. */
int app_agents(struct app *a, const char *system, json_t **out, struct diags *d);

/* ---- the agent side ---- */

/* What `cratis agent` is started with. Every pointer is borrowed for the duration of the run. */
struct agent_options {
	const char *server;           /* base URL of cratis serve ("http://127.0.0.1:8080") */
	const char *system;           /* the System this agent applies */
	const char *token;            /* bearer token, or NULL */
	const char *dir;              /* its state directory (created 0700): state.db, agent.json */
	int interval_ms;              /* reconcile (drift repair) at least this often, > 0 */
	int wait_s;                   /* how long each work request waits (1 to AGENT_WAIT_MAX) */
	int jobs;                     /* parallel plugin calls (>= 1) */
	int grace_ms;                 /* as app_options.grace_ms */
	atomic_int *cancel;           /* non-zero: stop (an apply running is interrupted) */
	/* Told one line about each thing the agent does or fails to do (never a token); may be
	 * NULL. Called on the agent's thread. */
	void (*log)(const char *line, void *payload);
	void *payload;
};

/* Run the agent until *o->cancel becomes non-zero: ask the server for the System's work (long
 * poll, GET /v1/agents/SYSTEM/work?after=GEN), apply each work item to the System's resources
 * (app_agent_targets) with its state in o->dir, report each (POST /v1/agents/SYSTEM/reports),
 * and apply the last work again every o->interval_ms even without new work (drift repaired).
 * Unreachable servers and 5xx answers are retried with backoff (0.5 s doubling to 10 s); the
 * generation and the work are kept in o->dir/agent.json across restarts of either side.
 * Returns CRATIS_OK once cancelled; CRATIS_EINVAL (bad options, o->dir kept for another System,
 * the server answers 401, 403 or 404: the problem is named), CRATIS_ENOTFOUND (libcurl missing),
 * CRATIS_EIO (o->dir cannot be created or written), each in d. */
int app_agent_run(const struct agent_options *o, struct diags *d);

#endif
