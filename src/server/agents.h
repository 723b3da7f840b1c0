/* The pull-agent routes of `cratis serve` (docs/agents.md) and the server's part of a deployment
 * whose project has resources on pull-mode Systems. Internal to src/server. */
#ifndef CRATIS_SERVER_AGENTS_H
#define CRATIS_SERVER_AGENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

/* GET /v1/agents, GET /v1/agents/{name}, GET /v1/agents/{name}/work (long poll) and
 * POST /v1/agents/{name}/reports. */
void h_agents(struct req *r);
void h_agent(struct req *r);
void h_agent_work(struct req *r);
void h_agent_report(struct req *r);

/* Called by a deployment worker once a (APP_LOAD_MANIFESTS, the project's environment) is open.
 * When the environment has resources on pull-mode Systems, *handled is set and the deployment
 * is done here: the work is recorded for each agent (app_agent_dispatch), started(id, payload)
 * is called with the server deployment's id as soon as it is recorded, then the server applies
 * the resources on its other Systems (if any) and records its part. Otherwise *handled is false
 * and nothing is done. Returns CRATIS_OK, or the status of what failed with the problems in d
 * (CRATIS_EINVAL for a dependency between a pull-mode System's resource and another System's,
 * the apply's status for the server's part, CRATIS_EIO). */
int agents_deploy(struct server *s, struct app *a, const char *project, const char *command,
                  void (*started)(int64_t id, void *payload), void *payload, bool *handled, struct diags *d);

#endif
