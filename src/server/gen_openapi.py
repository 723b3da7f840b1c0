# Writes openapi.c, the OpenAPI document of `cratis serve`, to the path given (meson runs it at build
# time: python3 src/server/gen_openapi.py OUT.c)
import json
import sys
def ref(n): return {"$ref": "#/components/schemas/" + n}
def resp(desc, schema=None, ctype="application/json"):
    r = {"description": desc}
    if schema is not None: r["content"] = {ctype: {"schema": schema}}
    return r
problem = lambda d: resp(d, ref("Problem"), "application/problem+json")
auth_errors = {"401": problem("no or an invalid bearer token"), "403": problem("the policy denies it")}
P = {"name": "project", "in": "path", "required": True, "schema": {"type": "string"}}
E = {"name": "env", "in": "path", "required": True, "schema": {"type": "string"}}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "format": "int64"}}
N = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
optbody = {"required": False, "content": {"application/json": {"schema": ref("RolloutRequest")}}}
envbody = {"required": True, "content": {"application/json": {"schema": ref("EnvRequest")}}}
TM = {"name": "team", "in": "path", "required": True, "schema": {"type": "string"}}
NS = {"name": "ns", "in": "path", "required": True, "schema": {"type": "string"}}
IFM = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"}, "description": "\"REVISION\" (the ETag of a GET): change only that revision, else 412"}
recbody = lambda n: {"required": True, "content": {"application/json": {"schema": ref(n)}}}
rec_put_responses = lambda n: {"200": resp("replaced (ETag: the new revision)", ref(n)), "400": problem("not a JSON object, or a malformed If-Match"), "404": problem("no such record"), "412": problem("If-Match names another revision"), "422": problem("invalid fields (diagnostics)")}
rec_delete_responses = lambda: {"200": resp("deleted", {"type": "object"}), "400": problem("a malformed If-Match"), "404": problem("no such record"), "409": problem("namespaces still use it"), "412": problem("If-Match names another revision")}
def op(summary, responses, params=None, body=None, secured=True, opid=None):
    o = {"summary": summary, "operationId": opid, "responses": responses}
    if params: o["parameters"] = params
    if body: o["requestBody"] = body
    if secured: o["responses"].update(auth_errors)
    else: o["security"] = []
    return o
W = {"name": "wait", "in": "query", "required": False, "schema": {"type": "boolean", "default": False}, "description": "true: answer when the action is done (200), not 202 once it started"}
rollout_responses = lambda: {"202": resp("started on a worker thread (the deployment recording it)", ref("DeploymentStarted")), "200": resp("?wait=true: done, the rollout's releases afterwards", ref("Rollout")), "404": problem("no such project or rollout"), "409": problem("the environment is locked"), "422": problem("invalid manifests, or nothing to act on (diagnostics)"), "500": problem("the action failed (diagnostics)")}
experiment_responses = lambda: {"202": resp("started on a worker thread (the deployment recording it)", ref("DeploymentStarted")), "200": resp("?wait=true: done, the experiment's status afterwards", ref("Experiment")), "400": problem("a body that is not a JSON object"), "404": problem("no such project, experiment or variant"), "409": problem("the environment is locked"), "422": problem("the experiment has ended, or no verdict and no winner (diagnostics)"), "500": problem("the action failed (diagnostics)")}
health = lambda n: op(n, {"200": resp("ready/alive", ref("Health")), "503": resp("a check failed", ref("Health"))},
    [{"name": "verbose", "in": "query", "required": False, "allowEmptyValue": True, "schema": {"type": "string"}}], secured=False, opid=n)
doc = {
 "openapi": "3.0.3",
 "info": {"title": "cratis API", "version": "1", "description": "The HTTP API of `cratis serve` (docs/server.md)."},
 "servers": [{"url": "http://127.0.0.1:8080"}],
 "security": [{"bearer": []}],
 "paths": {
  "/": {"get": op("the routes of the server", {"200": resp("paths and routes", {"type": "object"}), "302": resp("a browser (Accept: text/html): to the dashboard, /ui/")}, secured=False, opid="index")},
  "/livez": {"get": health("livez")},
  "/readyz": {"get": health("readyz")},
  "/metrics": {"get": op("Prometheus metrics", {"200": resp("text exposition format 0.0.4", {"type": "string"}, "text/plain")}, secured=False, opid="metrics")},
  "/v1/openapi.json": {"get": op("this document", {"200": resp("OpenAPI 3.0", {"type": "object"})}, secured=False, opid="openapi")},
  "/v1/projects": {
    "get": op("registered projects", {"200": resp("projects", {"type": "array", "items": ref("Project")})}, opid="listProjects"),
    "post": op("register a project by its directory", {"201": resp("registered", ref("Project")), "400": problem("not a JSON object"), "409": problem("already registered"), "422": problem("invalid name, path or manifests")},
               body={"required": True, "content": {"application/json": {"schema": ref("ProjectRequest")}}}, opid="createProject")},
  "/v1/projects/{project}/environments": {"get": op("the project's environments", {"200": resp("environments", {"type": "array", "items": {"type": "object"}}), "404": problem("no such project")}, [P], opid="listEnvironments")},
  "/v1/projects/{project}/plans": {"post": op("plan an environment", {"200": resp("the plan with diagnostics", ref("Plan")), "404": problem("no such project"), "422": problem("invalid manifests (diagnostics located)")}, [P], envbody, opid="createPlan")},
  "/v1/projects/{project}/deployments": {"post": op("apply an environment on a worker thread", {"202": resp("started", ref("DeploymentStarted")), "200": resp("nothing to change", {"type": "object"}), "404": problem("no such project"), "409": problem("the environment is locked"), "422": problem("invalid manifests")}, [P], envbody, opid="createDeployment")},
  "/v1/projects/{project}/environments/{env}/resources": {"get": op("resources with their recorded status", {"200": resp("resources", {"type": "array", "items": {"type": "object"}}), "404": problem("no such project"), "422": problem("no such environment")}, [P, E], opid="listResources")},
  "/v1/projects/{project}/environments/{env}/outputs": {"get": op("outputs; sensitive ones show as (sensitive)", {"200": resp("outputs", {"type": "array", "items": {"type": "object"}}), "404": problem("no such project")}, [P, E], opid="listOutputs")},
  "/v1/deployments": {"get": op("deployments, newest first", {"200": resp("deployments", {"type": "array", "items": ref("Deployment")})},
     [{"name": "env", "in": "query", "required": False, "schema": {"type": "string"}}], opid="listDeployments")},
  "/v1/deployments/{id}": {"get": op("one deployment with its steps", {"200": resp("the deployment", ref("Deployment")), "404": problem("no such deployment")}, [ID], opid="getDeployment")},
  "/v1/locks": {"get": op("the locks runs hold", {"200": resp("locks", {"type": "array", "items": {"type": "object"}})}, opid="listLocks")},
  "/v1/events": {"get": op("outbox events (CloudEvents JSON with seq), oldest first", {"200": resp("events", {"type": "array", "items": ref("Event")}), "400": problem("a bad since or limit")},
     [{"name": "since", "in": "query", "required": False, "schema": {"type": "string"}, "description": "after this seq, or from this RFC 3339 time"},
      {"name": "type", "in": "query", "required": False, "schema": {"type": "string"}, "description": "an event type, exact or a prefix ending in *"},
      {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000}}], opid="listEvents")},
  "/v1/events/stream": {"get": op("the outbox as Server-Sent Events (id = seq; resumes after Last-Event-ID)", {"200": resp("text/event-stream: id (seq), event (type), data (the CloudEvents JSON); comment lines as heartbeats", {"type": "string"}, "text/event-stream"), "400": problem("a bad since, Last-Event-ID or heartbeat")},
     [{"name": "since", "in": "query", "required": False, "schema": {"type": "integer"}, "description": "after this seq (default: from now on)"},
      {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "integer"}, "description": "a reconnecting client: after this seq (wins over since)"},
      {"name": "type", "in": "query", "required": False, "schema": {"type": "string"}},
      {"name": "heartbeat", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": 300, "default": 15}, "description": "seconds without an event before a comment line"}], opid="streamEvents")},
  "/v1/projects/{project}/environments/{env}/history": {"get": op("the environment's deployments, newest first", {"200": resp("deployments", {"type": "array", "items": ref("Deployment")}), "404": problem("no such project or environment")}, [P, E], opid="getHistory")},
  "/v1/projects/{project}/environments/{env}/rollouts/{name}": {"get": op("a rollout's releases and their status", {"200": resp("the rollout", ref("Rollout")), "404": problem("no such project or rollout"), "422": problem("no such environment")}, [P, E, N], opid="getRollout")},
  "/v1/projects/{project}/environments/{env}/rollouts/{name}/history": {"get": op("every release of a rollout with its stage log", {"200": resp("the rollout", ref("Rollout")), "404": problem("no such project or rollout")}, [P, E, N], opid="getRolloutHistory")},
  "/v1/projects/{project}/environments/{env}/rollouts/{name}/promote": {"post": op("promote the release in preview", rollout_responses(), [P, E, N, W], optbody, opid="promoteRollout")},
  "/v1/projects/{project}/environments/{env}/rollouts/{name}/rollback": {"post": op("put the previous release (or {to}) live again", rollout_responses(), [P, E, N, W], optbody, opid="rollbackRollout")},
  "/v1/projects/{project}/environments/{env}/rollouts/{name}/abort": {"post": op("stop the release in preview", rollout_responses(), [P, E, N, W], optbody, opid="abortRollout")},
  "/v1/experiments": {"get": op("experiments recorded, each the subject may read", {"200": resp("the experiments", {"type": "array", "items": ref("ExperimentSummary")})}, opid="listExperiments")},
  "/v1/projects/{project}/environments/{env}/experiments/{name}": {"get": op("an experiment's status with its history", {"200": resp("the experiment", ref("Experiment")), "404": problem("no such project or experiment")}, [P, E, N], opid="getExperiment")},
  "/v1/projects/{project}/environments/{env}/experiments/{name}/conclude": {"post": op("conclude an experiment (promote {winner} or the decided verdict)", experiment_responses(), [P, E, N, W], {"required": False, "content": {"application/json": {"schema": ref("ConcludeRequest")}}}, opid="concludeExperiment")},
  "/v1/projects/{project}/environments/{env}/experiments/{name}/abort": {"post": op("abort an experiment: the live release takes all traffic again", experiment_responses(), [P, E, N, W], opid="abortExperiment")},
  "/v1/projects/{project}/version": {"get": op("the project's version, its source and the versioning policy's verdict", {"200": resp("as cratis version show -o json", ref("Version")), "404": problem("no such project, or no version source"), "422": problem("invalid versioning policy")}, [P], opid="getVersion")},
  "/v1/artifacts": {"get": op("recorded artifacts, newest first", {"200": resp("artifacts", {"type": "array", "items": {"type": "object"}})},
     [{"name": "name", "in": "query", "required": False, "schema": {"type": "string"}},
      {"name": "history", "in": "query", "required": False, "allowEmptyValue": True, "schema": {"type": "string"}, "description": "every recorded row, not only the current ones"}], opid="listArtifacts")},
  # teams, namespaces and environment master records (src/server/teams.c)
  "/v1/environments": {
    "get": op("environment master records", {"200": resp("environments", {"type": "array", "items": ref("EnvironmentRecord")})}, opid="listEnvironmentRecords"),
    "post": op("create an environment master record", {"201": resp("created (ETag: its revision)", ref("EnvironmentRecord")), "400": problem("not a JSON object"), "409": problem("it exists"), "422": problem("invalid fields (diagnostics)")},
               body=recbody("EnvironmentRecord"), opid="createEnvironmentRecord")},
  "/v1/environments/{name}": {
    "get": op("one environment master record", {"200": resp("the record (ETag: its revision)", ref("EnvironmentRecord")), "404": problem("no such environment")}, [N], opid="getEnvironmentRecord"),
    "put": op("replace an environment master record (If-Match)", rec_put_responses("EnvironmentRecord"), [N, IFM], recbody("EnvironmentRecord"), opid="replaceEnvironmentRecord"),
    "delete": op("delete an environment master record", rec_delete_responses(), [N, IFM], opid="deleteEnvironmentRecord")},
  "/v1/teams": {
    "get": op("teams", {"200": resp("teams", {"type": "array", "items": ref("Team")})}, opid="listTeams"),
    "post": op("create a team", {"201": resp("created (ETag: its revision)", ref("Team")), "400": problem("not a JSON object"), "409": problem("it exists"), "422": problem("invalid fields (diagnostics)")},
               body=recbody("Team"), opid="createTeam")},
  "/v1/teams/{team}": {
    "get": op("one team (its members may read it)", {"200": resp("the team (ETag: its revision)", ref("Team")), "404": problem("no such team")}, [TM], opid="getTeam"),
    "put": op("replace a team (policy or its owners; If-Match)", rec_put_responses("Team"), [TM, IFM], recbody("Team"), opid="replaceTeam"),
    "delete": op("delete a team (policy only)", rec_delete_responses(), [TM, IFM], opid="deleteTeam")},
  "/v1/teams/{team}/namespaces": {
    "get": op("the team's namespaces", {"200": resp("namespaces", {"type": "array", "items": ref("Namespace")})}, [TM], opid="listNamespaces"),
    "post": op("create a namespace in an environment (policy or the team's owners)", {"201": resp("created (ETag: its revision)", ref("Namespace")), "400": problem("not a JSON object"), "404": problem("no such team"), "409": problem("it exists"), "422": problem("invalid fields, or the environment is not a master record")},
               [TM], recbody("Namespace"), opid="createNamespace")},
  "/v1/teams/{team}/namespaces/{env}/{ns}": {
    "get": op("one namespace with its quota", {"200": resp("the namespace (ETag: its revision)", ref("Namespace")), "404": problem("no such namespace")}, [TM, E, NS], opid="getNamespace"),
    "put": op("replace a namespace (policy or the team's owners; If-Match)", rec_put_responses("Namespace"), [TM, E, NS, IFM], recbody("Namespace"), opid="replaceNamespace"),
    "delete": op("delete a namespace (policy or the team's owners)", rec_delete_responses(), [TM, E, NS, IFM], opid="deleteNamespace")},
  # the dashboard (src/server/dashboard.c, docs/server.md "Dashboard"): public static files
  "/ui": {"get": op("redirects to /ui/", {"301": resp("to /ui/ (Location)")}, secured=False, opid="dashboardRedirect")},
  "/ui/": {"get": op("the dashboard (HTML page)", {"200": resp("the page (ETag, Cache-Control: no-cache, Content-Security-Policy)", {"type": "string"}, "text/html"), "304": resp("not modified (If-None-Match matched the ETag)")}, secured=False, opid="dashboard")},
  "/ui/{file}": {"get": op("a static file of the dashboard", {"200": resp("the file (ETag, Cache-Control: no-cache)", {"type": "string"}, "text/plain"), "304": resp("not modified (If-None-Match matched the ETag)"), "404": problem("no such file")},
     [{"name": "file", "in": "path", "required": True, "schema": {"type": "string"}}], secured=False, opid="dashboardFile")},
  # pull agents (src/server/agents.c, docs/agents.md)
  "/v1/agents": {"get": op("each pull-mode System's agent: last seen, generation, result, lag", {"200": resp("agents", {"type": "array", "items": {"type": "object", "properties": {"system": {"type": "string"}, "lastSeen": {"type": "string", "nullable": True}, "reported": {"type": "string", "nullable": True}, "generation": {"type": "integer"}, "desired": {"type": "integer"}, "lag": {"type": "integer"}, "lagSeconds": {"type": "integer"}, "result": {"type": "string", "nullable": True}, "items": {"type": "array", "items": {"type": "object"}}}}})}, opid="listAgents")},
  "/v1/agents/{name}": {"get": op("one System's agent", {"200": resp("the agent", {"type": "object"}), "404": problem("no agent and no work for this System")}, [N], opid="getAgent")},
  "/v1/agents/{name}/work": {"get": op("the System's work newer than ?after (long poll: 204 after ?wait seconds, at most 25)", {"200": resp("the work", {"type": "object", "properties": {"system": {"type": "string"}, "generation": {"type": "integer"}, "work": {"type": "array", "items": {"type": "object", "properties": {"project": {"type": "string"}, "location": {"type": "object"}, "environment": {"type": "string"}, "generation": {"type": "integer"}, "deployment": {"type": "integer"}, "created": {"type": "string"}}}}}}), "204": resp("no newer work within wait seconds"), "400": problem("a bad after or wait")},
     [N, {"name": "after", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0, "default": 0}, "description": "the generation the agent has"},
      {"name": "wait", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0, "maximum": 25, "default": 25}, "description": "seconds to wait for newer work"}], opid="getAgentWork")},
  "/v1/agents/{name}/reports": {"post": op("an agent's result of applying its work", {"200": resp("the agent afterwards", {"type": "object"}), "400": problem("not a JSON object"), "422": problem("a malformed report (the field named)")}, [N],
     {"required": True, "content": {"application/json": {"schema": {"type": "object", "required": ["generation", "project", "environment", "deployment", "result"], "properties": {"generation": {"type": "integer"}, "itemGeneration": {"type": "integer"}, "project": {"type": "string"}, "environment": {"type": "string"}, "deployment": {"type": "integer"}, "result": {"type": "string", "enum": ["succeeded", "failed", "interrupted"]}, "steps": {"type": "array", "items": {"type": "object"}}, "outputs": {"type": "array", "items": {"type": "object"}}, "message": {"type": "string"}, "counts": {"type": "object"}, "reconcile": {"type": "boolean"}}}}}}, opid="reportAgent")},
 },
 "components": {
  "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "a token of `cratis token create`, or an OpenID Connect JWT (RS256/ES256) of the issuer the server trusts (--oidc-issuer)"}},
  "schemas": {
   "Problem": {"type": "object", "description": "RFC 9457", "required": ["type", "title", "status"], "properties": {
      "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}, "instance": {"type": "string"},
      "diagnostics": {"type": "array", "items": ref("Diagnostic")}}},
   "Diagnostic": {"type": "object", "properties": {"severity": {"type": "string"}, "status": {"type": "string"}, "file": {"type": "string"},
      "line": {"type": "integer"}, "column": {"type": "integer"}, "field": {"type": "string"}, "message": {"type": "string"}, "hint": {"type": "string"}}},
   "Health": {"type": "object", "required": ["status", "time"], "properties": {"status": {"type": "string", "enum": ["ok", "failed"]}, "time": {"type": "string", "format": "date-time"},
      "checks": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "status": {"type": "string"}, "time": {"type": "string", "format": "date-time"}, "message": {"type": "string"}}}}}},
   "ProjectRequest": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "path": {"type": "string", "description": "absolute path of the project directory"}, "location": {"type": "string", "description": "instead of path: a git location (docs/locations.md), git::URL//DIR?ref=REF"}}},
   "Project": {"type": "object", "properties": {"name": {"type": "string"}, "path": {"type": "string"}, "location": {"type": "string"}, "registered": {"type": "string", "format": "date-time"}, "environments": {"type": "array", "items": {"type": "object"}}}},
   "EnvRequest": {"type": "object", "properties": {"env": {"type": "string", "description": "the environment (optional when the project has one)"}, "ref": {"type": "string", "description": "a project registered by git location: plan or deploy it at this branch, tag or commit instead of its registered ref"}, "save": {"type": "boolean", "description": "plans: also answer the saved plan as saved (cratis plan -out)"}, "plan": {"type": "object", "description": "deployments: apply exactly this saved plan (the saved object of a plan; cratis apply FILE)"}}},
   "Plan": {"type": "object", "properties": {"environment": {"type": "string"}, "project": {"type": "string"}, "changes": {"type": "boolean"}, "resources": {"type": "array", "items": {"type": "object"}}, "summary": {"type": "object"}, "diagnostics": {"type": "array", "items": ref("Diagnostic")}}},
   "ExperimentSummary": {"type": "object", "properties": {"project": {"type": "string"}, "environment": {"type": "string"}, "name": {"type": "string"}, "rollout": {"type": "string"}, "status": {"type": "string"}, "verdict": {"type": "string", "nullable": True}, "winner": {"type": "string", "nullable": True}, "control": {"type": "string"}, "started": {"type": "string"}, "updated": {"type": "string"}}},
   "Experiment": {"type": "object", "properties": {"project": {"type": "string"}, "environment": {"type": "string"}, "name": {"type": "string"}, "status": {"type": "string", "enum": ["starting", "running", "decided", "concluding", "concluded", "stopped", "aborted", "failed"]}, "verdict": {"type": "string", "nullable": True}, "winner": {"type": "string", "nullable": True}, "control": {"type": "string"}, "elapsedSeconds": {"type": "number"}, "history": {"type": "array", "items": {"type": "object"}}, "variants": {"type": "array", "items": {"type": "object"}}}},
   "ConcludeRequest": {"type": "object", "properties": {"winner": {"type": "string", "description": "the variant to promote (the control: keep it); default the decided verdict"}}},
   "DeploymentStarted": {"type": "object", "properties": {"id": {"type": "integer"}, "project": {"type": "string"}, "environment": {"type": "string"}, "status": {"type": "string"}, "href": {"type": "string"}, "rollout": {"type": "string"}, "experiment": {"type": "string"}, "action": {"type": "string"}}},
   "Event": {"type": "object", "description": "CloudEvents 1.0 JSON format, plus the outbox's seq", "required": ["specversion", "id", "source", "type", "seq"], "properties": {
      "specversion": {"type": "string"}, "id": {"type": "string"}, "source": {"type": "string"}, "type": {"type": "string"}, "subject": {"type": "string"},
      "time": {"type": "string", "format": "date-time"}, "datacontenttype": {"type": "string"}, "data": {"type": "object"}, "seq": {"type": "integer", "format": "int64"}}},
   "RolloutRequest": {"type": "object", "properties": {"to": {"type": "string", "description": "rollback: the release to put live (default the previous one)"}, "force": {"type": "boolean"}}},
   "Rollout": {"type": "object", "properties": {"project": {"type": "string"}, "environment": {"type": "string"}, "rollout": {"type": "string"}, "action": {"type": "string"}, "seconds": {"type": "number"},
      "releases": {"type": "array", "items": {"type": "object", "properties": {"release": {"type": "string"}, "colour": {"type": "string"}, "status": {"type": "string"}, "stage": {"type": "string"}, "port": {"type": "integer"}, "health": {"type": "string"}, "live": {"type": "boolean"}}}},
      "diagnostics": {"type": "array", "items": ref("Diagnostic")}}},
   "Version": {"type": "object", "properties": {"project": {"type": "string"}, "version": {"type": "string"}, "source": {"type": "string"}, "line": {"type": "integer"}, "branch": {"type": "string", "nullable": True},
      "model": {"type": "string"}, "rule": {"type": "string", "nullable": True}, "released": {"type": "string", "nullable": True}, "releasedTag": {"type": "string", "nullable": True}, "ok": {"type": "boolean"}, "verdict": {"type": "string"}}},
   "EnvironmentRecord": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "labels": {"type": "object", "additionalProperties": {"type": "string"}}, "protected": {"type": "boolean"},
      "revision": {"type": "integer", "readOnly": True}, "created": {"type": "string", "format": "date-time", "readOnly": True}, "updated": {"type": "string", "format": "date-time", "readOnly": True}}},
   "Team": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "description": {"type": "string"},
      "members": {"type": "array", "items": {"type": "object", "required": ["subject", "role"], "properties": {"subject": {"type": "string"}, "role": {"type": "string", "enum": ["owner", "member"]}}}},
      "revision": {"type": "integer", "readOnly": True}, "created": {"type": "string", "format": "date-time", "readOnly": True}, "updated": {"type": "string", "format": "date-time", "readOnly": True}}},
   "Namespace": {"type": "object", "required": ["environment", "name"], "properties": {"team": {"type": "string"}, "environment": {"type": "string"}, "name": {"type": "string"},
      "quota": {"type": "object", "properties": {"cpu": {"type": "string", "description": "Kubernetes quantity (2, 500m)"}, "memory": {"type": "string", "description": "Kubernetes quantity (1Gi, 512Mi)"}, "services": {"type": "integer", "minimum": 0}}},
      "revision": {"type": "integer", "readOnly": True}, "created": {"type": "string", "format": "date-time", "readOnly": True}, "updated": {"type": "string", "format": "date-time", "readOnly": True}}},
   "Deployment": {"type": "object", "properties": {"id": {"type": "integer"}, "environment": {"type": "string"}, "command": {"type": "string"}, "user": {"type": "string"}, "host": {"type": "string"},
      "started": {"type": "string"}, "finished": {"type": "string", "nullable": True}, "result": {"type": "string"}, "summary": {"type": "string"}, "steps": {"type": "array", "items": {"type": "object"}}}},
  }},
}
text = json.dumps(doc, indent=1, sort_keys=False)
out = ["/* Generated by src/server/gen_openapi.py at build time: the OpenAPI 3.0 document of `cratis serve`\n * (GET /v1/openapi.json). tests/e2e/serve.sh checks it",
       " * against the routes table (GET /) and validates its structure. */",
       '#include "server/server.h"', "", "const char server_openapi_json[] ="]
for line in text.split("\n"):
    out.append('\t"' + line.replace("\\", "\\\\").replace('"', '\\"') + '\\n"')
out[-1] += ";"
open(sys.argv[1], "w").write("\n".join(out) + "\n")
