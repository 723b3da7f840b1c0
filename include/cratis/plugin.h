/* cratis plugin ABI: the one public header a plugin is built against.
 * Stable, versioned; see docs/plugins.md for a walk-through and the exec (JSON) form. */
#ifndef CRATIS_PLUGIN_H
#define CRATIS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Major ABI: bumped only for incompatible changes. Both sides refuse a major they do not know.
 * Minor ABI: bumped when fields are appended to a struct below; never breaks older plugins. */
#define CRATIS_ABI_MAJOR 1
#define CRATIS_ABI_MINOR 4

/* Status codes shared by host and plugins. Fixed numbers, never renumbered; 0 is success. */
enum cratis_status {
	CRATIS_OK = 0,
	CRATIS_ERROR = -1,        /* generic failure; detail in the error message */
	CRATIS_ENOMEM = -2,       /* allocation failed */
	CRATIS_EINVAL = -3,       /* invalid input (manifest, arguments, protocol message) */
	CRATIS_EIO = -4,          /* file or process I/O failed */
	CRATIS_ENOTFOUND = -5,    /* named thing does not exist */
	CRATIS_EABI = -6,         /* ABI major mismatch */
	CRATIS_ETIMEOUT = -7,     /* an operation ran past its deadline */
	CRATIS_EPLUGIN = -8,      /* a plugin misbehaved (crash, garbage, protocol violation) */
	CRATIS_ELOCKED = -9,      /* a state lock is held by another run */
	CRATIS_ECYCLE = -10,      /* dependency cycle */
	CRATIS_EEXISTS = -11,     /* duplicate (handler, resource) */
	CRATIS_STATUS_LAST = -12
};

/* Log levels for cratis_host.log. */
enum cratis_log_level { CRATIS_LOG_DEBUG = 0, CRATIS_LOG_INFO = 1, CRATIS_LOG_WARN = 2, CRATIS_LOG_ERROR = 3 };

/* True when the (possibly older or newer) struct pointed to by p carries field f. */
#define CRATIS_HAS(p, f) ((p)->size >= offsetof(__typeof__(*(p)), f) + sizeof((p)->f))
#define CRATIS_HOST_HAS(host, f) CRATIS_HAS(host, f)

/* Threads (ABI 1.2). The host may call the ops of one handler concurrently from several threads,
 * each call with its own request (different resources of one run, or of several runs in a
 * long-lived cratis); it never calls two ops for the same resource at once. A plugin therefore
 * guards whatever its ops share (handler data, statics, library state that is not thread-safe)
 * and keeps per-request state on the stack. cratis_plugin_init and the fini hook run alone.
 *
 * Which host functions are safe from which thread:
 *  - alloc, free: any thread, at any time while the plugin is loaded.
 *  - log with call == NULL: any thread, at any time.
 *  - log, error, secret, emit, run, run_with, spawn_detached with a request's call: from the
 *    thread running that op, or from a thread the plugin starts for it, only while the op runs
 *    (the call dies when the op returns) and not from two threads at once for the same call.
 *    Calls for different requests never need a lock. run and run_with block only the calling
 *    thread; their line callback runs on that thread. */

/* One call of a handler op. All strings are UTF-8, owned by the host, valid for the call only.
 * JSON documents are serialized text (RFC 8259). */
struct cratis_request {
	uint32_t size;            /* sizeof(struct cratis_request) as built by the host */
	void *call;               /* opaque: pass back to every host function during this call */
	const char *api_version;  /* "group/version", e.g. "exec/v1" */
	const char *kind;         /* e.g. "Task" */
	const char *name;         /* metadata.name */
	const char *project;      /* project name */
	const char *environment;  /* environment name ("" when none) */
	const char *spec;         /* desired spec as JSON object, variables resolved; NULL on destroy */
	const char *prior;        /* recorded state as JSON {"spec":{...},"outputs":{...}}, or NULL */
	const char *workdir;      /* absolute project directory (manifest root) */
	const char *statedir;     /* absolute directory of this resource's own for files the plugin
	                           * keeps (pidfiles, logs); the plugin creates it when needed */
	int timeout_ms;           /* milliseconds left until deadline_ms when the request was made
	                           * (ABI 1.0 had it always 0); 0 = no deadline */
	/* ABI 1.2. A host older than 1.2 passes a smaller struct: test CRATIS_HAS(req, system). */
	const char *system;       /* name of the target System ("" when the manifests define none) */
	const char *system_type;  /* its spec.type ("" when none) */
	const char *system_spec;  /* its spec as a JSON object ("{}" when none). Credentials under
	                           * spec.auth are references, never values: {"fromEnv":"NAME"},
	                           * {"fromFile":"path"} or {"secret":"NAME"}; resolve them with
	                           * host->secret at the moment they are needed and never store or
	                           * log the result. */
	int64_t deadline_ms;      /* absolute deadline in milliseconds since the Unix epoch
	                           * (CLOCK_REALTIME, comparable across processes and hosts); 0 = none.
	                           * Measure waits with timeout_ms and a monotonic clock. */
	int dry_run;              /* 1 while planning (validate, plan, observe): read, never change
	                           * anything; 0 during apply and destroy */
};

/* Result of subprocess run by cratis_host.run. Buffers are allocated with host->alloc
 * and owned by the caller, who frees them with host->free. */
struct cratis_run_result {
	uint32_t size;
	int exit_code;            /* exit status, or 128+signal when killed */
	int timed_out;            /* 1 when the deadline killed the process group */
	char *out;                /* captured stdout, NUL-terminated, capped at 1 MiB */
	char *err;                /* captured stderr, NUL-terminated, capped at 64 KiB (tail) */
	/* ABI 1.2: written only when the caller's size covers them. */
	int out_truncated;        /* 1 when stdout went past the cap and was cut */
};

/* ABI 1.2: what cratis_host.run_with runs. Set size = sizeof(struct cratis_run_opts); the host
 * reads only the fields the size covers, zero for the rest. All pointers are borrowed for the
 * duration of the call. */
struct cratis_run_opts {
	uint32_t size;
	const char *const *argv;  /* argv[0] looked up in PATH; no shell */
	const char *const *envp;  /* "K=V" added to the host environment, NULL-terminated, or NULL */
	const char *workdir;      /* NULL = inherit */
	int timeout_ms;           /* the process group is killed (SIGKILL) past it; 0 = none */
	const char *stdin_data;   /* bytes fed to its stdin, then end of file; NULL = /dev/null */
	size_t stdin_len;         /* length of stdin_data */
	size_t out_cap;           /* bytes of stdout kept in out->out (the head); 0 = 1 MiB */
	size_t err_cap;           /* bytes of stderr kept in out->err (the tail); 0 = 64 KiB */
	/* Called for every line of output as it arrives, before the process ends, whatever the caps:
	 * stream 1 = stdout, 2 = stderr; line without its newline, NUL-terminated, valid for the
	 * call only (a line longer than 64 KiB arrives in pieces; a last line without a newline
	 * arrives at the end). Runs on the thread that called run_with. A non-zero return stops the
	 * process (SIGKILL to its group) and becomes run_with's return value. NULL = no streaming. */
	int (*on_line)(void *payload, int stream, const char *line, size_t len);
	void *payload;            /* passed to on_line */
};

/* Services the host offers to plugins. Check CRATIS_HOST_HAS before using fields newer than
 * the ABI minor a plugin was built against. */
struct cratis_host {
	uint32_t size;
	uint32_t abi_minor;
	/* Allocate / free memory for anything crossing the boundary (op results). */
	void *(*alloc)(size_t n);
	void (*free)(void *p);
	/* Log a line attributed to the current resource (call from cratis_request.call). */
	void (*log)(void *call, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
	/* Set the error detail of the current op; field is a spec path ("spec.path") or NULL.
	 * The host prefixes the resource's file:line:col when field is given. */
	void (*error)(void *call, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
	/* Run argv (argv[0] looked up in PATH) without a shell, in workdir (NULL = inherit), with envp
	 * added to the host environment (NULL-terminated "K=V" list, may be NULL), stdin from
	 * /dev/null, killed with its process group after timeout_ms (0 = none). Returns CRATIS_OK
	 * when the process ran (whatever its exit code), CRATIS_EIO when it could not start. */
	int (*run)(void *call, const char *const *argv, const char *const *envp, const char *workdir,
	           int timeout_ms, struct cratis_run_result *out);

	/* ---- ABI 1.2: test each with CRATIS_HOST_HAS(host, name) before use ---- */

	/* Resolve a credential reference into *out (NUL-terminated, allocated with host->alloc; the
	 * caller frees it with host->free, ideally after zeroing it). ref is "env:NAME" (a variable
	 * of cratis' environment), "file:PATH" (the file's content, one trailing newline removed,
	 * at most 64 KiB; a relative PATH is taken from the request's workdir), or the JSON text of
	 * a reference as found in a System's spec.auth: {"fromEnv":"NAME"}, {"fromFile":"PATH"},
	 * {"secret":"NAME"}. The value is never logged nor put in an error message.
	 * Returns CRATIS_OK; CRATIS_ENOTFOUND when the variable or file does not exist or the
	 * provider is unknown ({"secret":...} until a secret store is configured), CRATIS_EINVAL
	 * for a malformed reference, CRATIS_EIO when the file cannot be read; the op's error detail
	 * is set (naming the reference, not the value). */
	int (*secret)(void *call, const char *ref, char **out);
	/* Report an event about the current resource to cratis' observer: type is a short dotted
	 * name ("service.started", "health.passed"), data_json a JSON document (object, or NULL).
	 * Both are copied. Returns CRATIS_OK, or CRATIS_EINVAL when type is empty or data_json is
	 * not JSON. */
	int (*emit)(void *call, const char *type, const char *data_json);
	/* Like run, with stdin data, output streamed line by line and caller-set caps (see struct
	 * cratis_run_opts). *out as for run (out->size set by the caller), filled also when the
	 * callback stopped the process. Returns CRATIS_OK when the process ran (whatever its exit
	 * code), CRATIS_EIO when it could not start, CRATIS_EINVAL for empty argv, or the
	 * callback's non-zero value. */
	int (*run_with)(void *call, const struct cratis_run_opts *opts, struct cratis_run_result *out);
	/* Start argv detached from cratis: double fork, the process gets its own session and process
	 * group (setsid) and is never cratis' child (it is re-parented to init, so a long-lived
	 * cratis collects no zombies and its exit does not touch it). argv[0] looked up in PATH, no
	 * shell; envp added to the host environment as for run; workdir NULL = inherit; stdin from
	 * /dev/null; stdout and stderr appended to stdout_path (created 0644; NULL = /dev/null); no
	 * other descriptor of cratis inherited; signals at their defaults. *pid gets its pid (also
	 * its process group id: stop it with kill(-pid, SIGTERM)) and *start_time its start time in
	 * clock ticks since boot (field 22 of /proc/PID/stat), which tells it apart from a later
	 * process that reuses the pid. Returns CRATIS_OK once the program was executed; CRATIS_EIO
	 * (detail set) when it could not be started (fork, stdout_path, workdir or exec failed),
	 * CRATIS_EINVAL for empty argv. */
	int (*spawn_detached)(void *call, const char *const *argv, const char *const *envp,
	                      const char *workdir, const char *stdout_path, int64_t *pid,
	                      uint64_t *start_time);
};

/* A handler op. Returns CRATIS_OK or a negative status with detail set through host->error.
 * *out receives a JSON document allocated with host->alloc (or stays NULL):
 *  - validate: nothing.
 *  - plan:     {"action":"create|update|replace|noop","changes":["spec.x",...]} (optional op;
 *              without it the host diffs desired against prior spec: any change = update).
 *  - apply:    {"outputs":{...}} recorded in state and readable as ${Kind/name.outputs.key}.
 *  - destroy:  nothing.
 *  - observe:  {"exists":bool,"drift":bool,"reason":"...","changes":["..."]} for the recorded
 *              resource ("changes", optional: what an apply would change, listed by plan).
 * A plugin implements a System type T (a System with spec.type: T) by registering kind "System"
 * in group T; its field table lists the System's spec fields. */
typedef int (*cratis_op_fn)(void *data, const struct cratis_request *req, char **out);

struct cratis_ops {
	uint32_t size;
	cratis_op_fn validate;
	cratis_op_fn plan;
	cratis_op_fn apply;
	cratis_op_fn destroy;
	cratis_op_fn observe;
};

/* ABI 1.3: one field of a kind's schema (docs/plugins.md, "Declaring fields"). A table of these,
 * ended by an entry whose path is NULL, lists every field a manifest of the kind may carry; the
 * host refuses any other field at its location, with a "did you mean" hint, before any op runs.
 *  - path: dotted from the document root, "spec.health.http". "*" as a segment stands for any key
 *    ("spec.env.*"). Items of a sequence have the sequence's path: the fields of each item of
 *    spec.hooks.exitTests are "spec.hooks.exitTests.run", ... Parents are implied: declaring
 *    "spec.health.http" declares "spec.health". A mapping whose keys the table does not
 *    describe (no path below it) is free-form: its keys are not checked.
 *  - type: "string", "integer", "number", "boolean", "object", "array", "argv" (a sequence of
 *    arguments, or a string with shell: true) or "any": documentation for `cratis explain` and
 *    messages; the plugin's validate op still checks values.
 *  - help: one line for messages and `cratis explain`, or NULL.
 *  - default_value (ABI 1.4; read only when the row's size covers it): the value
 *    the plugin uses when the field is absent, as text for `cratis explain` ("0644", "10"), or
 *    NULL for none.
 *  - required (likewise): non-zero when a manifest must carry the field (documentation for
 *    `cratis explain`; the validate op still enforces it).
 * The envelope (apiVersion, kind, metadata.name, metadata.project, metadata.labels, spec) and
 * the fields cratis itself reads (spec.system, spec.dependsOn) are always allowed and need not be
 * listed. All strings are static (valid until the plugin is unloaded); the host copies them. */
struct cratis_field {
	uint32_t size;                   /* sizeof(struct cratis_field) as built by the plugin */
	const char *path;
	const char *type;
	const char *help;
	/* Appended in ABI 1.4: test with CRATIS_HAS(row, default_value), CRATIS_HAS(row, required). */
	const char *default_value;
	int required;
};

/* What a plugin registers: one kind of one group, the versions it serves, and its ops. */
struct cratis_handler {
	uint32_t size;
	const char *group;               /* e.g. "exec" */
	const char *kind;                /* e.g. "Task" */
	const char *const *versions;     /* NULL-terminated, e.g. {"v1", NULL} */
	const struct cratis_ops *ops;
	void *data;                      /* passed to every op */
	/* ABI 1.3. The kind's schema, ended by an entry with path NULL, or NULL for none: without
	 * one the host checks only the envelope and passes any spec field to the plugin (as before
	 * 1.3; `cratis plugin list` says "no schema"). Every row must have the same size. */
	const struct cratis_field *fields;
};

/* Handed to cratis_plugin_init. The host copies what it is given; pointers must stay valid
 * until the plugin is unloaded (static storage is the usual choice). */
struct cratis_plugin_ctx {
	uint32_t size;
	void *host_data;
	/* Describe the plugin: the ABI major it was built for (pass CRATIS_ABI_MAJOR), its name and
	 * semver version, and an optional unload hook. Returns CRATIS_EABI when the host does not
	 * know abi_major; the plugin should then return that status from cratis_plugin_init. */
	int (*set_info)(struct cratis_plugin_ctx *ctx, uint32_t abi_major, const char *name,
	                const char *version, void (*fini)(void *data), void *data);
	/* Register a handler. Errors: CRATIS_EEXISTS when another plugin already handles one of the
	 * group/kind/versions, CRATIS_EINVAL for a malformed handler. */
	int (*register_handler)(struct cratis_plugin_ctx *ctx, const struct cratis_handler *h);
	/* ABI 1.1: declare that this plugin needs plugin `name` at a version in `range`, a semver
	 * range ("^1.2", ">=1.2.0, <2"). Checked once every plugin is loaded; an unmet or malformed
	 * requirement is a load error naming both plugins. Test with CRATIS_HAS(ctx, require). */
	int (*require)(struct cratis_plugin_ctx *ctx, const char *name, const char *range);
};

/* The one symbol a shared-object plugin exports. abi_major is the host's CRATIS_ABI_MAJOR; a
 * plugin built for another major returns CRATIS_EABI. Returns CRATIS_OK after registering. */
typedef int (*cratis_plugin_init_fn)(uint32_t abi_major, const struct cratis_host *host,
                                     struct cratis_plugin_ctx *ctx);
#define CRATIS_PLUGIN_INIT_SYMBOL "cratis_plugin_init"

#if defined(__GNUC__)
#define CRATIS_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define CRATIS_PLUGIN_EXPORT
#endif

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *host,
                                            struct cratis_plugin_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
