/* Deploying a capability resource through OpenTofu (docs/capabilities.md, "Deploying"): the
 * capability handlers' apply and destroy ops. Each capability resource is its own OpenTofu root
 * module, rendered by cap_render_resource into the resource's state directory
 * (cratis_request.statedir), where OpenTofu keeps its state (terraform.tfstate, the local
 * backend); cratis orders the resources by their output references and passes each the
 * resolved outputs of the others. */
#ifndef CRATIS_CAPABILITY_DEPLOY_H
#define CRATIS_CAPABILITY_DEPLOY_H

#include "cratis/plugin.h"

/* The OpenTofu executable the handlers run: the first of `tofu`, then `terraform`, found as an
 * executable regular file in a directory of path (a PATH value, colon-separated; NULL or empty:
 * none). Returns a newly allocated absolute path (the caller frees it), or NULL when neither is
 * there. */
char *cap_tofu_find(const char *path);

/* The apply op (struct cratis_ops.apply) of a capability kind; data is its struct cap_kind,
 * whose plugin's catalog is bound to a model (cap_catalog_bind). Renders the resource of req
 * (with req->spec, references resolved) for the Environment's provider into req->statedir
 * (created), then runs, there, `TOOL init -input=false -no-color`, `TOOL apply -input=false
 * -no-color -auto-approve` and `TOOL output -json -no-color`, TOOL from cap_tofu_find($PATH),
 * each within req->timeout_ms (0: none). *out receives {"outputs": {PORTABLE: value, ...,
 * "opentofu": {"tool": "tofu"|"terraform", "workdir": DIR, "state": DIR/terraform.tfstate}}},
 * the portable outputs taken from the root outputs `<module>_<output>` (allocated with the
 * host's alloc). Errors (detail set through the host's error): CRATIS_ENOTFOUND when neither
 * tofu nor terraform is on the PATH (saying OpenTofu is needed and how to deploy without it),
 * CRATIS_EINVAL when the resource does not render (no provider, no module) or when tofu's
 * output lacks a portable output, CRATIS_EIO when the directory cannot be written or a command
 * cannot start, CRATIS_ERROR when a command fails (its exit code and the tail of its stderr). */
int cap_tofu_apply(void *data, const struct cratis_request *req, char **out);

/* The destroy op of a capability kind: `TOOL init` and `TOOL destroy -input=false -no-color
 * -auto-approve` in req->statedir when a root module was rendered there (nothing to do, CRATIS_OK,
 * when none was: the resource was never deployed through OpenTofu). Errors as cap_tofu_apply. */
int cap_tofu_destroy(void *data, const struct cratis_request *req, char **out);

#endif
