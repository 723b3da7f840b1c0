/* The model: core kinds (System, Environment, Project) and plugin resources built from manifest
 * documents, with variables interpolated for one environment and scope rules checked. */
#ifndef CRATIS_MODEL_H
#define CRATIS_MODEL_H

#include <jansson.h>

#include "manifest/manifest.h"
#include "manifest/vars.h"
#include "plugin/registry.h"
#include "util/map.h"
#include "util/util.h"

#define CORE_GROUP "cratis"
#define CORE_VERSION "v1"

struct system {
	const char *name, *type;               /* borrowed from the document */
	bool agent;                            /* spec.agent: pull mode, applied by `cratis agent`
	                                        * on its host, never by the server (docs/agents.md) */
	const struct manifest_doc *doc;
};

struct environment {
	const char *name;
	struct strv systems;
	json_t *variables;                     /* object (owned by the model): the document's
	                                        * spec.variables with ${env:...} expanded and the
	                                        * overrides applied; NULL when there are none */
	struct strv sensitive;                 /* names of variables written {value: V,
	                                        * sensitive: true}: redacted wherever recorded */
	const struct manifest_doc *doc;
};

struct project {
	const char *name;
	struct strv environments;
	const json_t *outputs;                 /* spec.outputs (borrowed from the document, checked):
	                                        * NAME -> "EXPR" or {value: EXPR, description?: string,
	                                        * sensitive?: bool}; NULL when none */
	const struct manifest_doc *doc;
};

/* Built by model_build only; its strings share the resource's one allocation (never free or
 * replace them), and its spec may share unchanged members with the document (never write it). */
struct resource {
	char *key;            /* "project:Kind/name", unique in the model */
	char *id;             /* "Kind/name" */
	char *api_version, *group, *version, *kind, *name, *project, *system;
	json_t *spec;         /* spec without dependsOn, variables expanded; output refs kept */
	struct strv deps;     /* ids this resource depends on (dependsOn and output references) */
	bool pending_vars;    /* spec still holds output references or $${ escapes */
	const struct manifest_doc *doc;
	struct handler *handler;
};

struct model {
	struct system *systems;
	size_t nsystems, asystems;
	struct environment *envs;
	size_t nenvs, aenvs;
	struct project *projects;
	size_t nprojects, aprojects;
	struct resource **resources;
	size_t nresources, aresources;
	struct map by_key;                     /* key -> resource */
	struct environment *env;               /* selected environment, NULL when none are defined */
	const char *env_name;                  /* "" when none */
	struct diags errors;                    /* "file:line:col: field: message" */
	vars_artifact_fn artifact;             /* resolves ${artifact:...}; set before model_build */
	void *artifact_payload;
	const json_t *overrides;               /* variables replacing the environment's (promotion) */
	bool state_only;                       /* no manifests (destroy with state only): the model
	                                        * owns every project recorded; set after model_init */
	struct strv elsewhere;                 /* keys ("project:Kind/name") of resources left out
	                                        * because metadata.environments excludes the selected
	                                        * environment */
};

void model_init(struct model *m);
void model_release(struct model *m);

/* Build the model from every document of ms for environment env_name (NULL: the only
 * environment, or none when no Environment is defined). Pure: ms is only read (the model owns
 * copies of what it changes: specs with variables expanded, the environment's variables with
 * ${env:...} read now and m->overrides applied), so building again from the same ms gives an
 * equal model, reads the process environment afresh, and keeps nothing of an earlier build's
 * overrides. Whatever m held from an earlier build is released first (m->artifact,
 * m->artifact_payload and m->overrides stay). Resources go to the handler registered for their
 * group, kind and version. Checks, each reported with its location: envelope fields and types,
 * unknown kind (naming loaded kinds), unsupported version (naming the plugins and the versions
 * they serve), duplicate Kind/name, unknown system/environment/dependency, variables, and scope
 * (a resource's system must be listed by the environment), metadata.environments (known
 * environment names; a resource whose list leaves out the selected environment is not part of
 * the model and its key goes to m->elsewhere), a spec.system taken from a variable
 * (`system: ${system}`, resolved for the selected environment), Project spec.outputs (names,
 * shapes, references to resources of the project). Returns CRATIS_OK, or CRATIS_EINVAL
 * with every problem in m->errors. reg may be NULL only when no plugin kind occurs. Strings of
 * the model (names, kinds) may borrow from ms, which must outlive m. */
int model_build(struct model *m, const struct manifest_set *ms, const struct registry *reg,
                const char *env_name);

/* True when name is a valid resource or environment name (a DNS-1123 label: lowercase letters,
 * digits and '-', starting and ending with a letter or digit, at most 63 characters). */
bool model_name_valid(const char *name);

/* The "did you mean" of cratis, the one implementation every hint uses (commands, flags,
 * kinds, groups, fields, environments, addresses, outputs): the candidate of cands (n strings,
 * NULL entries skipped) nearest to word by optimal string alignment distance ignoring case
 * (schema_distance: a transposition counts one), when within two edits and not as far as both
 * lengths (no shared letter: no evidence), or when one is a prefix of the other of 3 or more
 * characters ("dest" for "destroy"); the first of equally near ones. NULL when none is close or
 * word is empty. Borrowed from cands. */
const char *model_suggest(const char *word, const char *const *cands, size_t n);

/* The Environment documents (cratis/v1) of ms without building a model (no environment needs
 * to be selected, plugins need not be loaded): a new JSON array (caller decrefs) of {name,
 * systems: [names], variables: [names], sensitive: [names of sensitive variables]} in document
 * order. Values are never included. Documents that are not well-formed Environments are
 * skipped (model_build reports them). */
json_t *model_environments(const struct manifest_set *ms);

/* True when project is one of m's projects ("default" when the manifests define none; every
 * project when m->state_only). */
bool model_owns_project(const struct model *m, const char *project);

/* Resource with id "Kind/name" in project, or NULL. */
struct resource *model_find(const struct model *m, const char *project, const char *id);

#endif
