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
	const struct manifest_doc *doc;
};

struct environment {
	const char *name;
	struct strv systems;
	const json_t *variables;               /* object, borrowed from the document */
	const struct manifest_doc *doc;
};

struct project {
	const char *name;
	struct strv environments;
	const struct manifest_doc *doc;
};

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
};

void model_init(struct model *m);
void model_release(struct model *m);

/* Build the model from every document of ms for environment env_name (NULL: the only
 * environment, or none when no Environment is defined). Checks, each reported with its location:
 * envelope fields and types, unknown kind (naming loaded kinds), unsupported version (naming
 * supported ones), duplicate Kind/name, unknown system/environment/dependency, variables, and
 * scope (a resource's system must be listed by the environment). Returns CRATIS_OK, or
 * CRATIS_EINVAL with every problem in m->errors. reg may be NULL only when no plugin kind occurs. */
int model_build(struct model *m, const struct manifest_set *ms, const struct registry *reg,
                const char *env_name);

/* Resource with id "Kind/name" in project, or NULL. */
struct resource *model_find(const struct model *m, const char *project, const char *id);

#endif
