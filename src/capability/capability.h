/* Portable capabilities (docs/capabilities.md): capability plugins are folders of data (plugin.yaml,
 * OpenTofu modules per provider, cost models) that declare kinds such as
 * storage.capabilities/v1 ObjectStorage. The catalog loads them, checks their dependencies,
 * registers one built-in handler per kind (with its field table), and renders the capability
 * resources of an environment into an OpenTofu root module for one provider. */
#ifndef CRATIS_CAPABILITY_H
#define CRATIS_CAPABILITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cratis/plugin.h"
#include "manifest/manifest.h"
#include "model/model.h"
#include "plugin/registry.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/util.h"

/* The providers a capability renders for, in this order everywhere (tables, output). */
#define CAP_NPROVIDERS 3
extern const char *const cap_providers[CAP_NPROVIDERS];   /* "aws", "gcp", "azure" */

/* Index of provider name p in cap_providers, or -1. */
int cap_provider_index(const char *p);

struct cap_plugin;

/* One capability kind (an entry of provides.capabilities). Strings borrow from the plugin's
 * plugin.yaml document (owned by the catalog). */
struct cap_kind {
	const char *name;                 /* "object_storage" */
	const char *api_version;          /* "storage.capabilities/v1" */
	char *group;                      /* "storage.capabilities" (owned) */
	const char *version;              /* "v1" */
	const char *kind;                 /* "ObjectStorage" */
	json_t *def;                      /* the entry (borrowed from the document) */
	json_t *fields;                   /* array of {path, type, help, default, values, min, max, required} */
	json_t *impl[CAP_NPROVIDERS];     /* modules.<provider>, or NULL when the provider has none */
	struct cratis_field *table;       /* the kind's field table for the registry, ended by a
	                                   * row with path NULL (owned, strings in table_strings) */
	struct strv table_strings;
	const char *def_path;             /* "provides.capabilities[i]" located in doc (owned by strv) */
	struct cap_plugin *plugin;
};

struct cap_plugin {
	const char *name, *version;       /* borrowed from doc */
	char *dir;                        /* absolute folder (owned) */
	const struct manifest_doc *doc;   /* its plugin.yaml */
	struct cap_kind *kinds;
	size_t nkinds;
	const struct cap_catalog *catalog; /* the catalog holding it (set by cap_catalog_register) */
};

struct cap_catalog {
	struct cap_plugin *plugins;
	size_t nplugins, aplugins;
	struct manifest_set docs;         /* every plugin.yaml read, for values and locations */
	struct strv dirs;                 /* directories searched, in order */
	struct strv paths;                /* owned strings the kinds point into (def paths) */
	const struct model *model;        /* the model the handlers deploy from (cap_catalog_bind), or NULL */
};

void cap_catalog_init(struct cap_catalog *c);
/* Free what c holds (the handlers registered from it must be gone: release the registry first). */
void cap_catalog_release(struct cap_catalog *c);

/* The capability path: $CRATIS_CAPABILITY_PATH (colon-separated), then project_dir/.cratis/capabilities
 * (project_dir may be NULL), then the built-in folder (the source tree's plugins/ for a binary run
 * from its build tree, else the installed CRATIS_CAPABILITY_DIR). Fills c->dirs. */
void cap_catalog_default_dirs(struct cap_catalog *c, const char *project_dir);

/* Load every capability plugin found in c->dirs: a sub-folder whose plugin.yaml has
 * provides.capabilities (other folders, such as the C and exec plugins, are skipped). The first
 * plugin of a name in the path wins. Each plugin.yaml is checked (name, semver version, each
 * capability's apiVersion, kind, fields, outputs and per-provider module, whose main.tf,
 * variables.tf and outputs.tf must exist, inputs naming known sources, outputs naming every
 * portable output), then every plugin's dependencies (plugin, semver range, optional) against
 * the plugins loaded: a missing required plugin, or a plugin present at a version outside the
 * range, is an error naming both. Errors are appended to errors with the plugin.yaml location.
 * Returns CRATIS_OK or CRATIS_EPLUGIN when any error was appended. */
int cap_catalog_load(struct cap_catalog *c, struct diags *errors);

/* Register one built-in handler per capability kind of c into reg (a plugin entry per capability
 * plugin, form PLUGIN_CORE, with the kind's field table). The handlers validate a spec against
 * the kind's fields (types, allowed values, bounds, required fields, provider options); apply
 * and destroy deploy through OpenTofu (src/capability/deploy.h: `tofu`, else `terraform`, on the
 * PATH) and fail saying OpenTofu is needed when neither is there.
 * c must outlive reg's handlers. Errors as registry_add_handler. Returns CRATIS_OK or the
 * first error's status. */
int cap_catalog_register(struct cap_catalog *c, struct registry *reg, struct diags *errors);

/* Give the handlers of c the model they deploy from: apply renders the resource's own OpenTofu
 * root module from m's Environment (provider, region, provider settings). m (borrowed) must
 * outlive every apply and destroy op; NULL unbinds. Before a bind, apply and destroy fail saying
 * that no environment is loaded. */
void cap_catalog_bind(struct cap_catalog *c, const struct model *m);

/* The kind of c serving group/kind/version, or NULL. */
const struct cap_kind *cap_catalog_find(const struct cap_catalog *c, const char *group, const char *kind,
                                        const char *version);

/* The providers settings declared by a plugin (providers.<provider>: source, version,
 * defaultRegion), or NULL when no loaded plugin declares that provider. Borrowed. */
const json_t *cap_catalog_provider(const struct cap_catalog *c, const char *provider);

/* One rendered file: path relative to the output directory, and its bytes. */
struct render_file {
	char *path;
	struct buf data;
};

struct render_result {
	struct render_file *files;        /* sorted by path */
	size_t n, alloc;
	char *provider;                   /* the provider rendered for */
	char *region;                     /* its region */
	size_t modules;                   /* module calls in the root module */
	struct diags warnings;            /* DIAG_WARNING: lock-in (provider options used) */
};

void render_result_init(struct render_result *r);
void render_result_release(struct render_result *r);

/* Render the capability resources of m's selected environment into an OpenTofu root module for
 * provider (NULL: the Environment's spec.provider): versions.tf (required_providers with the
 * version constraints of the provider's declaring plugin), providers.tf (the provider block with
 * the Environment's spec.region, or the provider's defaultRegion, and its
 * spec.providerOptions.<provider> settings), main.tf (locals, one module call per capability
 * resource with its inputs mapped from the portable spec, defaults applied, output references
 * ${Kind/name.outputs.key} to other capabilities turned into module outputs), outputs.tf (every
 * portable output of every resource), and a copy of each module used under
 * modules/<plugin>/<provider>/<module>/. Same model, catalog and provider: same bytes.
 * Errors (appended to d, located where they can be): no provider chosen, an unknown provider,
 * a kind without a module for the provider, an output reference to something that is not a
 * capability output, an unreadable module file. Returns CRATIS_OK (out filled) or
 * CRATIS_EINVAL / CRATIS_EIO. */
int cap_render(struct render_result *out, const struct cap_catalog *c, const struct model *m,
               const char *provider, struct diags *d);

/* Like cap_render, for one resource deployed alone (the capability handler's apply): only the
 * capability resource of the given id ("Kind/name") of m's environment, rendered with spec (its
 * JSON spec with output references already resolved to values; NULL: the manifest's), its
 * outputs in outputs.tf as `<module>_<output>`. On azure its resource group is
 * `<project>-<environment>-<name>` (its own, since its OpenTofu state is its own). Errors as
 * cap_render, and CRATIS_ENOTFOUND when id is not a capability resource of the environment. */
int cap_render_resource(struct render_result *out, const struct cap_catalog *c, const struct model *m,
                        const char *provider, const char *id, const json_t *spec, struct diags *d);

/* Write r's files under dir (created with its parents; files replaced). Returns CRATIS_OK or
 * CRATIS_EIO with the last error naming the path. */
int cap_render_write(const struct render_result *r, const char *dir);

#endif
