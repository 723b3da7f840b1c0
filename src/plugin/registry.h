/* Plugin registry: finds plugins in the plugin path, loads shared objects (dlopen) and executable
 * plugins (newline-delimited JSON over pipes), and maps group/kind/version to a handler. */
#ifndef CRATIS_REGISTRY_H
#define CRATIS_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>

#include "cratis/plugin.h"
#include "util/buf.h"
#include "util/util.h"

enum plugin_form { PLUGIN_SO, PLUGIN_EXEC, PLUGIN_CORE };

struct exec_plugin;

struct plugin {
	char *name, *version, *path;
	enum plugin_form form;
	void *dl;                       /* dlopen handle (so) */
	void (*fini)(void *);
	void *fini_data;
	struct exec_plugin *exec;       /* exec form */
	struct strv req_names, req_ranges; /* plugins it requires, with semver ranges */
};

struct handler {
	char *group, *kind;
	struct strv versions;
	struct cratis_ops ops;          /* copied from the plugin, zero-filled past its size */
	void *data;
	struct plugin *plugin;
};

struct registry {
	struct plugin **plugins;
	size_t nplugins, aplugins;
	struct handler **handlers;
	size_t nhandlers, ahandlers;
	struct strv dirs;               /* directories searched, in order */
};

enum op { OP_VALIDATE, OP_PLAN, OP_APPLY, OP_DESTROY, OP_OBSERVE };
extern const char *const op_names[];

/* Per-call context handed to plugins as cratis_request.call. */
struct call {
	const char *resource;           /* "Kind/name", for log lines */
	struct buf err;                 /* error detail set by the plugin */
	struct buf field;               /* field path the error concerns ("" if none) */
};

void registry_init(struct registry *r);
/* Unload every plugin (fini hooks, dlclose, stop exec plugin processes) and free r's contents. */
void registry_release(struct registry *r);

/* The plugin path: $CRATIS_PLUGIN_PATH (colon-separated), then project_dir/.cratis/plugins, then
 * the built-in directory (the build tree's plugins/ next to the binary, else the installed
 * CRATIS_PLUGIN_DIR). project_dir may be NULL. Fills r->dirs. */
void registry_default_dirs(struct registry *r, const char *project_dir);

/* Load every plugin found in r->dirs. A plugin name seen earlier in the path shadows later ones.
 * Errors (bad ABI, missing init symbol, unreadable plugin.yaml, two handlers for one
 * group/kind/version) are appended to errors, each naming the plugin path; loading goes on.
 * Returns CRATIS_OK, or CRATIS_EPLUGIN when any error was appended. */
int registry_load(struct registry *r, struct strv *errors);

/* Check every plugin's requirements (name + semver range) against the loaded plugins' versions;
 * appends an error per unmet requirement. Returns CRATIS_OK or CRATIS_EPLUGIN. registry_load
 * calls it. */
int registry_check_requirements(const struct registry *r, struct strv *errors);

/* Load one plugin: a .so file or a directory with plugin.yaml. Errors as registry_load. */
int registry_load_one(struct registry *r, const char *path, struct strv *errors);

/* Handler for group/kind (any version), or NULL. */
struct handler *registry_find(const struct registry *r, const char *group, const char *kind);
/* True when h serves version ("v1") of its kind. */
bool handler_supports(const struct handler *h, const char *version);
/* "exec/v1 Task, file/v1 File" for messages; caller frees. */
char *registry_kinds_list(const struct registry *r);

/* Call op of h. req is filled by the caller except size and call, which are set here. On success
 * *out is the op's JSON result (new reference) or NULL when it returned none. On failure the
 * status is returned, call->err holds the plugin's message, and the last error is set to
 * "plugin 'NAME': message". An op the handler lacks returns CRATIS_OK with *out NULL. */
int handler_call(struct handler *h, enum op op, struct cratis_request *req, struct call *call,
                 json_t **out);
/* True when h implements op (validate, plan and observe are optional). */
bool handler_has_op(const struct handler *h, enum op op);

/* Prepare / free a call context for resource ("Kind/name", borrowed). */
void call_init(struct call *c, const char *resource);
void call_release(struct call *c);

/* The host services table handed to plugins. */
extern const struct cratis_host host_services;

/* exec.c: executable plugins speaking JSON lines (protocol: docs/plugins.md).
 * exec_plugin_load reads dir/plugin.yaml and registers its handlers (the program is not started);
 * errors as registry_load. */
int exec_plugin_load(struct registry *r, const char *dir, struct strv *errors);
/* Send one request (op "apply", ...) to e and wait for its answer; *out gets the result (new
 * reference) or NULL. Safe to call from several threads at once: by default each request goes to
 * a process of e's pool that is idle, a new one being started (and shaken hands with) when all are
 * busy, up to the cap set by exec_plugin_set_max_procs; with `concurrency: N` in plugin.yaml, to
 * its one process, up to N requests in flight, answers matched by id. The request is written and
 * answered within the plugin's timeoutSeconds (writes never block past it).
 * Returns CRATIS_OK; CRATIS_ERROR when the plugin answered with an error (call->err, call->field
 * set); otherwise call->err says what happened: CRATIS_EPLUGIN when the process crashed, exited,
 * printed garbage or a wrong id (every request it held fails; the next request starts a new
 * process, once per plugin: after a second death the plugin is failed), CRATIS_ETIMEOUT past its
 * timeout and CRATIS_EABI on a handshake mismatch (the plugin is failed at once). Once failed,
 * every later call returns CRATIS_EPLUGIN at once with the same message. */
int exec_plugin_call(struct exec_plugin *e, const char *op, const struct cratis_request *req,
                     struct call *call, json_t **out);
/* Cap e's pool at n processes (n >= 1; 0 for no cap other than the number of requests in flight,
 * the default). Ignored with `concurrency: N` (always one process). Thread-safe. */
void exec_plugin_set_max_procs(struct exec_plugin *e, int n);
/* exec_plugin_set_max_procs(n) on every exec plugin of r: the run's parallelism (-j). */
void registry_set_exec_procs(struct registry *r, int n);
/* Close the stdin of every process of e, wait up to 2 s for them to exit, then kill them; free e.
 * No call may be in flight. */
void exec_plugin_free(struct exec_plugin *e);
/* Register handler h of plugin p (copied). Appends an error naming both plugins and returns
 * CRATIS_EEXISTS when a group/kind/version is already handled, CRATIS_EINVAL when malformed. */
int registry_add_handler(struct registry *r, struct plugin *p, const struct cratis_handler *h,
                         struct strv *errors);

#endif
