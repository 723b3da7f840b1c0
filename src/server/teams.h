/* The teams, namespaces and environment master-record routes of `cratis serve` (teams.c; docs/server.md
 * "Teams and namespaces"), listed in routes.c's table. Internal to src/server. */
#ifndef CRATIS_SERVER_TEAMS_H
#define CRATIS_SERVER_TEAMS_H

#include "http.h"

/* GET/POST /v1/environments, GET/PUT/DELETE /v1/environments/{name}: admin (policy) only changes. */
void h_environments_list(struct req *r);
void h_environment_create(struct req *r);
void h_environment_get(struct req *r);
void h_environment_put(struct req *r);
void h_environment_delete(struct req *r);
/* GET/POST /v1/teams, GET/PUT/DELETE /v1/teams/{team}: members read, owners (or the policy)
 * update, only the policy deletes. */
void h_teams_list(struct req *r);
void h_team_create(struct req *r);
void h_team_get(struct req *r);
void h_team_put(struct req *r);
void h_team_delete(struct req *r);
/* GET/POST /v1/teams/{team}/namespaces, GET/PUT/DELETE /v1/teams/{team}/namespaces/{env}/{ns}:
 * members read, owners (or the policy) change. */
void h_namespaces_list(struct req *r);
void h_namespace_create(struct req *r);
void h_namespace_get(struct req *r);
void h_namespace_put(struct req *r);
void h_namespace_delete(struct req *r);

#endif
