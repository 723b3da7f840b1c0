/* Plugin registry: finds plugins in the plugin path, loads shared objects (dlopen) and executable
 * plugins (newline-delimited JSON over pipes), and maps group/kind/version to a handler. */
#ifndef CRATIS_REGISTRY_H
#define CRATIS_REGISTRY_H

#include <stdatomic.h>
#include <signal.h>
#include <jansson.h>
#include <stdbool.h>

#include "cratis/plugin.h"
#include "engine/observer.h"
#include "util/buf.h"
#include "util/diag.h"
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
	/* The kind's schema (ABI 1.3 cratis_handler.fields, or fields: in plugin.yaml), copied;
	 * has_schema false when the plugin declared none (its spec fields are not checked). */
	struct handler_field *fields;
	size_t nfields;
	bool has_schema;
};

/* One row of a handler's schema (see struct cratis_field): strings owned by the handler. */
struct handler_field {
	char *path, *type, *help;
	char *def;                      /* default_value (or plugin.yaml default:), or NULL */
	bool required;
};

struct registry {
	struct plugin **plugins;
	size_t nplugins, aplugins;
	struct handler **handlers;
	size_t nhandlers, ahandlers;
	struct strv dirs;               /* directories searched, in order */
	struct diags notes;             /* DIAG_NOTE: what loading noticed (shadowed plugins), for -v */
};

enum op { OP_VALIDATE, OP_PLAN, OP_APPLY, OP_DESTROY, OP_OBSERVE };
extern const char *const op_names[];

/* Where host->emit sends an event: resource "Kind/name", type, data (borrowed JSON, may be
 * NULL). Returns CRATIS_OK or a status handed back to the plugin. */
typedef int (*call_event_fn)(void *payload, const char *resource, const char *type, const json_t *data);

/* Per-call context handed to plugins as cratis_request.call. */
struct call {
	const char *resource;           /* "Kind/name", for log lines */
	struct buf err;                 /* error detail set by the plugin */
	struct buf field;               /* field path the error concerns ("" if none) */
	const struct engine_observer *observer; /* where the plugin's log lines go, or NULL */
	const atomic_int *cancel;     /* non-zero: subprocesses of the call are stopped, or NULL */
	int grace_ms;                   /* how long a cancelled subprocess gets before SIGKILL */
	const struct cratis_request *req; /* the request being served (set by handler_call) */
	json_t *events;                 /* events emitted during the call: [{"type","data"}] */
	call_event_fn on_event;         /* also hands each event here when set (the observer) */
	void *event_payload;
	/* Resolves a {"secret":"NAME"} credential reference (host->secret) into *out (heap, the
	 * caller wipes and frees), or returns a status with the last error set; NULL: no secret
	 * store for this call (CRATIS_ENOTFOUND). */
	int (*secret)(char **out, const char *name, void *payload);
	void *secret_payload;
	/* Applies the resource id ("Kind/name", the caller's project) of the running apply now, on
	 * the calling thread, as the engine applies it (its resolved desired spec, System, statedir,
	 * secrets; recorded as its own step of the deployment) and returns CRATIS_OK or its status
	 * with the last error set; *detail gets a heap line saying what ran (caller frees; may be
	 * NULL on error). NULL outside an engine apply (CRATIS_ENOTFOUND to the caller). Used by
	 * Rollout hooks (`task: Migration/NAME`). */
	int (*apply_now)(void *payload, const char *id, char **detail);
	void *apply_now_payload;
};

void registry_init(struct registry *r);
/* Unload every plugin (fini hooks, dlclose, stop exec plugin processes) and free r's contents. */
void registry_release(struct registry *r);

/* The plugin path: $CRATIS_PLUGIN_PATH (colon-separated), then project_dir/.cratis/plugins, then
 * the user's directory of --global installs (plugin_user_dir, src/plugin/install.h), then
 * the built-in directory (the build tree's plugins/ next to the binary, else the installed
 * CRATIS_PLUGIN_DIR). project_dir may be NULL. Fills r->dirs. */
void registry_default_dirs(struct registry *r, const char *project_dir);

/* Load every plugin found in r->dirs. A plugin name seen earlier in the path shadows later ones.
 * Errors (bad ABI, missing init symbol, unreadable plugin.yaml, two handlers for one
 * group/kind/version) are appended to errors, each naming the plugin path; loading goes on.
 * Returns CRATIS_OK, or CRATIS_EPLUGIN when any error was appended. */
int registry_load(struct registry *r, struct diags *errors);

/* Check every plugin's requirements (name + semver range) against the loaded plugins' versions;
 * appends an error per unmet requirement. Returns CRATIS_OK or CRATIS_EPLUGIN. registry_load
 * calls it. */
int registry_check_requirements(const struct registry *r, struct diags *errors);

/* Load one plugin: a .so file or a directory with plugin.yaml. Errors as registry_load. */
int registry_load_one(struct registry *r, const char *path, struct diags *errors);

/* The handler serving version ("v1") of group/kind, or NULL when no plugin serves that version.
 * version NULL: the first handler registered for group/kind whatever its versions (to name what
 * is supported in a message). Two plugins may serve one kind with different versions. */
struct handler *registry_find(const struct registry *r, const char *group, const char *kind,
                              const char *version);
/* True when h serves version ("v1") of its kind. */
bool handler_supports(const struct handler *h, const char *version);
/* "exec/v1 Task, file/v1 File" for messages (kinds "System", which describe a System type, left
 * out); caller frees. */
char *registry_kinds_list(const struct registry *r);

/* Call op of h. req is filled by the caller except size and call, which are set here, and
 * timeout_ms, computed here from deadline_ms (a request with only timeout_ms gets the deadline
 * now + timeout_ms); NULL strings become "" and system_spec "{}". A request whose deadline has
 * passed fails with CRATIS_ETIMEOUT without calling. On success
 * *out is the op's JSON result (new reference) or NULL when it returned none. On failure the
 * status is returned, call->err holds the plugin's message, and the last error is set to
 * "plugin 'NAME': message". An op the handler lacks returns CRATIS_OK with *out NULL. */
int handler_call(struct handler *h, enum op op, struct cratis_request *req, struct call *call,
                 json_t **out);
/* True when h implements op (validate, plan and observe are optional). */
bool handler_has_op(const struct handler *h, enum op op);

/* Prepare / free a call context for resource ("Kind/name", borrowed). Events emitted during
 * the call are kept in c->events until call_release; set c->on_event to route them on. */
void call_init(struct call *c, const char *resource);
void call_release(struct call *c);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): the clock of cratis_request.deadline_ms. */
int64_t request_clock_ms(void);

/* The host services table handed to plugins. */
extern const struct cratis_host host_services;

/* exec.c: executable plugins speaking JSON lines (protocol: docs/plugins.md).
 * exec_plugin_load reads dir/plugin.yaml and registers its handlers (the program is not started);
 * errors as registry_load. */
int exec_plugin_load(struct registry *r, const char *dir, struct diags *errors);
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
/* The "request" member of an exec plugin's message for req (protocol: docs/plugins.md): its
 * fields in camelCase, spec and prior parsed, "system" {name,type,spec} or null. New reference. */
json_t *exec_request_json(const struct cratis_request *req);
void exec_plugin_free(struct exec_plugin *e);
/* Testing seam (tests/fuzz): run data through the exec protocol's reading side as if a ready
 * plugin process had printed it while requests 0 and 1 waited (two reads: its halves): lines are
 * split, parsed, logged or matched to a request by id, and each answer interpreted as
 * exec_plugin_call does. No process is involved. Returns the number of requests answered "ok". */
int exec_protocol_feed(const char *data, size_t len);
/* Register handler h of plugin p (copied, with its field table when h->size covers fields).
 * Appends an error naming both plugins and returns CRATIS_EEXISTS when a group/kind/version is
 * already handled, CRATIS_EINVAL when malformed (including a field row without a path or with a
 * type other than those of struct cratis_field). */
int registry_add_handler(struct registry *r, struct plugin *p, const struct cratis_handler *h,
                         struct diags *errors);
/* Free what registry_add_handler allocated for h, and h itself. */
void handler_free(struct handler *h);

#endif
