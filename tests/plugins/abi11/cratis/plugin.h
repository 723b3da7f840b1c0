/* FROZEN COPY of include/cratis/plugin.h at ABI 1.1, the fixture plugin tests/plugins/abi11 is
 * built against it to prove that a plugin built for 1.1 keeps loading. Never edit. */
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
#define CRATIS_ABI_MINOR 1

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
	int timeout_ms;           /* deadline for this call; 0 = none */
};

/* Result of subprocess run by cratis_host.run. Buffers are allocated with host->alloc
 * and owned by the caller, who frees them with host->free. */
struct cratis_run_result {
	uint32_t size;
	int exit_code;            /* exit status, or 128+signal when killed */
	int timed_out;            /* 1 when the deadline killed the process group */
	char *out;                /* captured stdout, NUL-terminated, capped at 1 MiB */
	char *err;                /* captured stderr, NUL-terminated, capped at 64 KiB (tail) */
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
};

/* A handler op. Returns CRATIS_OK or a negative status with detail set through host->error.
 * *out receives a JSON document allocated with host->alloc (or stays NULL):
 *  - validate: nothing.
 *  - plan:     {"action":"create|update|replace|noop","changes":["spec.x",...]} (optional op;
 *              without it the host diffs desired against prior spec: any change = update).
 *  - apply:    {"outputs":{...}} recorded in state and readable as ${Kind/name.outputs.key}.
 *  - destroy:  nothing.
 *  - observe:  {"exists":bool,"drift":bool,"reason":"..."} for the recorded resource. */
typedef int (*cratis_op_fn)(void *data, const struct cratis_request *req, char **out);

struct cratis_ops {
	uint32_t size;
	cratis_op_fn validate;
	cratis_op_fn plan;
	cratis_op_fn apply;
	cratis_op_fn destroy;
	cratis_op_fn observe;
};

/* What a plugin registers: one kind of one group, the versions it serves, and its ops. */
struct cratis_handler {
	uint32_t size;
	const char *group;               /* e.g. "exec" */
	const char *kind;                /* e.g. "Task" */
	const char *const *versions;     /* NULL-terminated, e.g. {"v1", NULL} */
	const struct cratis_ops *ops;
	void *data;                      /* passed to every op */
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
