/* Teams, namespaces and environment master records (issue 14, docs/server.md "Teams and
 * namespaces"), kept as store records (src/state/store.h: store_record_*), and the namespace
 * quotas plans are checked against (docs/manifests.md, Environment spec.namespace). Application
 * layer: returns statuses, JSON documents and diagnostics; never prints. */
#ifndef CRATIS_APP_TEAMS_H
#define CRATIS_APP_TEAMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "util/diag.h"

/* ---- Kubernetes quantities ---- */

/* Parse a Kubernetes quantity (k8s.io/apimachinery resource.Quantity: a non-negative decimal
 * number "2", "0.5", "1.25" followed by nothing, a decimal SI suffix n u m k M G T P E, a binary
 * suffix Ki Mi Gi Ti Pi Ei, or an exponent e3 / E-2) as a CPU amount in millicores ("2" = 2000,
 * "500m" = 500, "0.1" = 100; a fraction of a millicore rounds up, as Kubernetes does). No sign,
 * space or empty text is accepted. Returns CRATIS_OK with *out set, or CRATIS_EINVAL (the last
 * error says what was expected) for malformed text or a value over INT64_MAX millicores. */
int quantity_cpu_millis(const char *text, int64_t *out);
/* The same syntax as a memory amount in bytes ("1Gi" = 1073741824, "128M" = 128000000, "1.5Ki"
 * = 1536; a fraction of a byte rounds up). CRATIS_OK or CRATIS_EINVAL as above. */
int quantity_memory_bytes(const char *text, int64_t *out);
/* A quantity of a manifest or a request body as text: a string is itself, a non-negative number
 * (YAML `cpu: 2`, `cpu: 0.5`) its decimal form; anything else NULL. Heap, caller frees. */
char *quantity_text(const json_t *v);
/* millicores as the shortest quantity text ("2", "2500m") into out. */
void quantity_format_cpu(int64_t millis, char out[32]);
/* bytes as a quantity text with the largest exact binary suffix ("1Gi", "1536Mi", "1000") into
 * out. */
void quantity_format_memory(int64_t bytes, char out[32]);

/* ---- master records: environments, teams, namespaces ---- */

/* What an app_master_* function acts on: the record kind and its document's shape.
 * - APP_ENVIRONMENT (kind "environment", scope ""): {name, description, labels: {k: v},
 *   protected: bool}.
 * - APP_TEAM (kind "team", scope ""): {name, description, members: [{subject, role: "owner" |
 *   "member"}]}.
 * - APP_NAMESPACE (kind "namespace", scope TEAM, record name "ENV/NS"): {team, environment, name,
 *   quota: {cpu: QUANTITY, memory: QUANTITY, services: N}} (each quota member optional). */
enum app_master { APP_ENVIRONMENT, APP_TEAM, APP_NAMESPACE };

/* Who made a change and where: recorded in its event's data. Borrowed. */
struct app_actor {
	const char *subject;          /* "alice", or NULL */
	const char *role;             /* "role:admin", or NULL */
};

/* Every record of kind (for APP_NAMESPACE, of team; team NULL: of every team), by name, as a JSON
 * array of their documents, each with revision, created and updated added. a needs its store
 * (any app_load but APP_LOAD_OFFLINE). *out: new reference (NULL on error). Returns CRATIS_OK or
 * CRATIS_EIO (in d). */
int app_master_list(struct app *a, enum app_master kind, const char *team, json_t **out, struct diags *d);

/* One record's document (with revision, created, updated) into *out (new reference). name: the
 * environment or team name, or for APP_NAMESPACE "ENV/NS" (team: its team). Returns CRATIS_OK,
 * CRATIS_ENOTFOUND (none; d says which), CRATIS_EIO. */
int app_master_get(struct app *a, enum app_master kind, const char *team, const char *name, json_t **out,
                   struct diags *d);

/* Create (expect 0) or replace (expect > 0: only the record at that revision; STORE_REV_ANY:
 * whatever is recorded, but it must exist) a record from body, a request's JSON object: its
 * fields are checked strictly (an unknown field, a wrong type, a bad name, a quantity that does
 * not parse, a role that is neither owner nor member, a subject given twice), each problem located
 * as "request body" with its field path. name (NULL: body's "name") is the record's name; a body
 * naming another is refused. For APP_NAMESPACE, team must be a team record and the environment an
 * environment master record. The change and its event (dev.cratis.KIND.created or .updated, data
 * the document with revision and actor; never a secret) are written in one transaction. *out
 * (may be NULL) gets the document written (with revision, created, updated). Returns CRATIS_OK,
 * CRATIS_EINVAL (invalid body; an unknown environment of a namespace; nothing written),
 * CRATIS_ENOTFOUND (an update of a record that does not exist; a namespace of an unknown team),
 * CRATIS_EEXISTS (a create of a record that exists, or expect > 0 and the record is at another
 * revision: *conflict is set to true in that second case), CRATIS_EIO; each in d. */
int app_master_put(struct app *a, enum app_master kind, const char *team, const char *name, const json_t *body,
                   int64_t expect, const struct app_actor *who, json_t **out, bool *conflict, struct diags *d);

/* Delete a record (expect: its revision, or STORE_REV_ANY) with its dev.cratis.KIND.deleted event
 * in one transaction. A team that still has namespaces, or an environment that namespaces use, is
 * refused (CRATIS_EEXISTS naming them; delete those first), and so is a protected environment
 * (CRATIS_EEXISTS). Returns CRATIS_OK, CRATIS_ENOTFOUND,
 * CRATIS_EEXISTS (also a revision mismatch: *conflict true), CRATIS_EIO; each in d. */
int app_master_delete(struct app *a, enum app_master kind, const char *team, const char *name, int64_t expect,
                      const struct app_actor *who, bool *conflict, struct diags *d);

/* The role subject holds in team document doc (app_master_get): "owner", "member", or NULL when it
 * is not a member. Borrowed from doc. */
const char *app_team_role(const json_t *doc, const char *subject);

/* ---- quotas ---- */

/* The offline checks of model m's quota fields (`cratis validate` and every plan): each Service's
 * spec.resources and each Rollout's spec.template.resources {cpu, memory} are quantities, and the
 * Environment's spec.namespace, when set, is "TEAM/NAMESPACE" (two DNS labels). Each problem is
 * appended to d located at its manifest field. Returns CRATIS_OK or CRATIS_EINVAL. */
int app_requests_check(const struct model *m, struct diags *d);

/* Check plan p of the open environment (APP_LOAD_MANIFESTS) against the quota of the namespace its
 * Environment names (spec.namespace: "TEAM/NS"; record "ENV/NS" of team TEAM), when the store
 * holds that namespace record: the Services and Rollout releases, CPU and memory requests
 * (spec.resources, spec.template.resources) that every project bound to the namespace would hold
 * after the plan (this one's recorded resources with the plan applied, the others' as recorded)
 * must stay within the quota, or not grow beyond it. Every Service and Rollout of the plan has
 * its resources checked (app_requests_check) whether or not a namespace is set. Returns CRATIS_OK
 * (with a DIAG_NOTE in d of what the namespace would use, when it has a record), or CRATIS_EINVAL
 * with a diagnostic per problem located at the manifest field ("namespace team-a/staging/web:
 * services 4 would exceed quota 3", at spec.namespace; only a figure that grows beyond the quota is
 * refused), or CRATIS_EIO (the store). */
int app_quota_check(struct app *a, const struct plan *p, struct diags *d);

/* Record which namespace each project of the open environment deploys into (a "namespace-binding"
 * record per ENV/PROJECT), after an apply: the quota check of other projects counts what these
 * projects hold. destroy (or an Environment without spec.namespace) removes the binding.
 * Returns CRATIS_OK or CRATIS_EIO (in d). */
int app_namespace_bind(struct app *a, bool destroy, struct diags *d);

#endif
