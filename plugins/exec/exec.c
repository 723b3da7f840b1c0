/* Built-in plugin `exec`: kind Task (exec/v1). Runs an argv (no shell unless shell: true) on
 * apply and on destroy; an optional check command reports drift; declared outputs are read
 * from apply's stdout as key=value lines. Fields: docs/manifests.md#task. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/spec.h"
#include "../common/ssh.h"

static const struct cratis_host *host;

static int validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = spec_parse(req, 0);
	int rc = CRATIS_OK;
	json_t *shell = json_object_get(s, "shell");
	bool sh = json_is_true(shell);
	static const char *const cmds[] = { "apply", "destroy", "check" };
	for (int i = 0; i < 3; i++) {
		json_t *v = json_object_get(s, cmds[i]);
		if (!v && i == 0) {
			char f[32];
			snprintf(f, sizeof(f), "spec.%s", cmds[i]);
			host->error(req->call, f, "missing field, expected a command: a sequence of arguments%s", sh ? " or a shell string" : "");
			rc = CRATIS_EINVAL;
			break;
		}
		char **owned;
		const char **argv = v ? spec_argv(v, sh, &owned) : NULL;
		if (v && !argv) {
			char f[32];
			snprintf(f, sizeof(f), "spec.%s", cmds[i]);
			host->error(req->call, f, "expected a non-empty sequence of strings (argv)%s", sh ? " or a shell string" : "; set shell: true to pass a shell string");
			rc = CRATIS_EINVAL;
			break;
		}
		if (argv)
			spec_argv_free(argv, owned);
	}
	json_t *t = json_object_get(s, "timeoutSeconds");
	if (!rc && t && (!json_is_integer(t) || json_integer_value(t) <= 0 || json_integer_value(t) > 86400)) {
		host->error(req->call, "spec.timeoutSeconds", "expected a whole number of seconds from 1 to 86400 (one day)");
		rc = CRATIS_EINVAL;
	}
	json_t *o = json_object_get(s, "outputs");
	if (!rc && o && !json_is_array(o)) {
		host->error(req->call, "spec.outputs", "expected a sequence of output names");
		rc = CRATIS_EINVAL;
	}
	size_t oi;
	json_t *ov;
	json_array_foreach(rc ? NULL : o, oi, ov) {
		const char *bad = NULL;
		if (json_is_object(ov)) {
			const char *k;
			json_t *x;
			if (!json_is_string(json_object_get(ov, "name")))
				bad = "expected name: NAME";
			json_object_foreach(ov, k, x)
				if (!bad && strcmp(k, "name") && strcmp(k, "sensitive"))
					bad = "unknown field (expected name and sensitive)";
			x = json_object_get(ov, "sensitive");
			if (!bad && x && !json_is_boolean(x))
				bad = "sensitive: expected true or false";
		} else if (!json_is_string(ov)) {
			bad = "expected an output name or {name: NAME, sensitive: true}";
		}
		if (bad) {
			char field[64];
			snprintf(field, sizeof(field), "spec.outputs[%zu]", oi);
			host->error(req->call, field, "%s", bad);
			rc = CRATIS_EINVAL;
			break;
		}
	}
	json_t *e = json_object_get(s, "env");
	if (!rc && e && !json_is_object(e)) {
		host->error(req->call, "spec.env", "expected a mapping of NAME: value");
		rc = CRATIS_EINVAL;
	}
	if (!rc && shell && !json_is_boolean(shell)) {
		host->error(req->call, "spec.shell", "expected true or false");
		rc = CRATIS_EINVAL;
	}
	if (!rc && ssh_is_remote(req))
		rc = ssh_system_check(host, req);
	json_decref(s);
	return rc;
}

/* The streamed lines of a Task with sensitive outputs: what `--stream` shows, with the value of
 * a "NAME=VALUE" stdout line of a sensitive output replaced by "(sensitive)". */
struct masked_lines {
	const struct cratis_request *req;
	json_t *decl;   /* spec.outputs */
};

static int masked_line(void *payload, int stream, const char *line, size_t len)
{
	struct masked_lines *m = payload;
	size_t i;
	json_t *e;
	json_array_foreach(stream == 1 ? m->decl : NULL, i, e) {
		const char *k = json_string_value(json_object_get(e, "name"));
		size_t kl = k ? strlen(k) : 0;
		if (kl && json_is_true(json_object_get(e, "sensitive")) && len > kl && !strncmp(line, k, kl) && line[kl] == '=') {
			host->log(m->req->call, CRATIS_LOG_DEBUG, "%s=(sensitive)", k);
			return 0;
		}
	}
	host->log(m->req->call, CRATIS_LOG_DEBUG, "%.*s", (int)len, line);
	return 0;
}

/* Whether spec s declares a sensitive output. */
static bool has_sensitive_output(json_t *s)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(s, "outputs"), i, e)
		if (json_is_true(json_object_get(e, "sensitive")))
			return true;
	return false;
}

/* Run argv (spec[which]) on the request's ssh System (docs/systems.md): in spec.workdir (a remote
 * path; the login directory when absent) with spec.env, under the remote `timeout` so that the
 * command itself is killed at timeoutSeconds, output streamed and captured as for a local run.
 * Returns 0 with res filled, or an error status with the detail set (res empty). */
static int run_remote(const struct cratis_request *req, json_t *s, const char *which, const char **argv,
                      struct cratis_run_result *res)
{
	struct ssh_target t;
	int rc = ssh_target_open(&t, host, req);
	if (rc)
		return rc;
	json_t *tj = json_object_get(s, "timeoutSeconds");
	int secs = json_is_integer(tj) ? (int)json_integer_value(tj) : 300;
	struct ssh_str cmd = { 0 };
	const char *wd = spec_str(s, "workdir", NULL);
	if (wd) {
		ssh_str_add(&cmd, "cd ");
		ssh_str_quote(&cmd, wd);
		ssh_str_add(&cmd, " && ");
	}
	ssh_str_add(&cmd, "exec ");
	const char *k;
	json_t *v;
	json_t *env = json_object_get(s, "env");
	if (json_object_size(env))
		ssh_str_add(&cmd, "env ");
	json_object_foreach(env, k, v) {
		char *val = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
		size_t n = strlen(k) + strlen(val) + 2;
		char *kv = malloc(n);
		snprintf(kv, n, "%s=%s", k, val);
		ssh_str_quote(&cmd, kv);
		ssh_str_add(&cmd, " ");
		free(kv);
		free(val);
	}
	char tmo[64];
	snprintf(tmo, sizeof(tmo), "timeout -k 5 %d ", secs);
	ssh_str_add(&cmd, tmo);
	ssh_str_quote_argv(&cmd, argv);
	struct masked_lines m = { req, json_object_get(s, "outputs") };
	rc = ssh_exec(host, req->call, &t, cmd.p, NULL, 0, (secs + 15) * 1000, masked_line, &m, res);
	if (!rc && (res->exit_code == 124 || res->timed_out)) {
		host->error(req->call, NULL, "%s command timed out after %d s on System/%s", which, secs, t.system);
		rc = CRATIS_ERROR;
	} else if (!rc && res->exit_code) {
		size_t n = res->err ? strlen(res->err) : 0;
		while (n && res->err[n - 1] == '\n')
			n--;
		host->error(req->call, NULL, "%s command '%s' exited with status %d on System/%s%s%.*s", which, argv[0], res->exit_code,
		            t.system, n ? ": " : "", (int)n, n ? res->err : "");
		rc = CRATIS_ERROR;
	}
	if (rc) {
		host->free(res->out);
		host->free(res->err);
		res->out = res->err = NULL;
	}
	free(cmd.p);
	ssh_target_release(&t);
	return rc;
}

/* Run spec[which]; 1 when the field is absent. res is filled when 0 is returned. */
static int run_cmd(const struct cratis_request *req, json_t *s, const char *which, struct cratis_run_result *res)
{
	json_t *v = json_object_get(s, which);
	if (!v)
		return 1;
	char **owned;
	const char **argv = spec_argv(v, json_is_true(json_object_get(s, "shell")), &owned);
	if (!argv) {
		host->error(req->call, which, "invalid command");
		return CRATIS_EINVAL;
	}
	if (ssh_is_remote(req)) {
		int rrc = run_remote(req, s, which, argv, res);
		spec_argv_free(argv, owned);
		return rrc;
	}
	char **env = spec_env(json_object_get(s, "env"));
	const char *wd = spec_str(s, "workdir", NULL);
	char *workdir = wd ? spec_path(req, wd) : (req->workdir && *req->workdir ? strdup(req->workdir) : NULL);
	json_t *t = json_object_get(s, "timeoutSeconds");
	int timeout = json_is_integer(t) ? (int)json_integer_value(t) * 1000 : 300000;
	memset(res, 0, sizeof(*res));
	res->size = sizeof(*res);
	int rc;
	if (has_sensitive_output(s) && CRATIS_HOST_HAS(host, run_with)) {
		/* stream the lines ourselves, sensitive outputs masked (host->run streams them as they are) */
		struct masked_lines m = { req, json_object_get(s, "outputs") };
		struct cratis_run_opts o = { .size = sizeof(o), .argv = argv, .envp = (const char *const *)env,
		                             .workdir = workdir, .timeout_ms = timeout, .on_line = masked_line, .payload = &m };
		rc = host->run_with(req->call, &o, res);
	} else {
		rc = host->run(req->call, argv, (const char *const *)env, workdir, timeout, res);
	}
	if (!rc && (res->exit_code || res->timed_out)) {
		if (res->timed_out)
			host->error(req->call, NULL, "%s command timed out after %d s", which, timeout / 1000);
		else
			host->error(req->call, NULL, "%s command '%s' exited with status %d%s%s", which, argv[0], res->exit_code,
			            res->err && *res->err ? ": " : "", res->err ? res->err : "");
		rc = CRATIS_ERROR;
	}
	if (rc) {
		host->free(res->out);
		host->free(res->err);
		res->out = res->err = NULL;
	}
	free(workdir);
	spec_env_free(env);
	spec_argv_free(argv, owned);
	return rc;
}

/* Declared outputs from key=value lines of stdout; the names of those declared
 * {name, sensitive: true} are appended to sensitive (the reply's "sensitive", docs/plugins.md). */
static int outputs(const struct cratis_request *req, json_t *s, const char *stdout_text, json_t *into, json_t *sensitive)
{
	json_t *decl = json_object_get(s, "outputs");
	size_t i;
	json_t *entry;
	json_array_foreach(decl, i, entry) {
		json_t *name = json_is_object(entry) ? json_object_get(entry, "name") : entry;
		if (!json_is_string(name))
			continue;
		const char *k = json_string_value(name);
		if (json_is_true(json_object_get(entry, "sensitive")))
			json_array_append_new(sensitive, json_string(k));
		size_t kl = strlen(k);
		const char *found = NULL;
		for (const char *line = stdout_text; line && *line;) {
			const char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			if (len > kl && !strncmp(line, k, kl) && line[kl] == '=') {
				found = line;
				json_object_set_new(into, k, json_stringn(line + kl + 1, len - kl - 1));
			}
			line = nl ? nl + 1 : NULL;
		}
		if (!found) {
			host->error(req->call, "spec.outputs", "declared output '%s' was not printed by apply (expected a line '%s=VALUE' on stdout)", k, k);
			return CRATIS_ERROR;
		}
	}
	return CRATIS_OK;
}

static int apply(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *s = spec_parse(req, 0);
	struct cratis_run_result res;
	int rc = run_cmd(req, s, "apply", &res);
	if (rc == 0) {
		json_t *o = json_object(), *sens = json_array();
		rc = outputs(req, s, res.out, o, sens);
		if (!rc) {
			json_t *doc = json_pack("{s:o,s:o}", "outputs", o, "sensitive", sens);
			*out = spec_out(host, doc);
			json_decref(doc);
		} else {
			json_decref(o);
			json_decref(sens);
		}
		host->free(res.out);
		host->free(res.err);
	}
	json_decref(s);
	return rc;
}

static int destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = spec_parse(req, 1);
	struct cratis_run_result res;
	int rc = run_cmd(req, s, "destroy", &res);
	if (rc == 0) {
		host->free(res.out);
		host->free(res.err);
	}
	json_decref(s);
	return rc == 1 ? CRATIS_OK : rc;
}

static int observe(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *s = spec_parse(req, 1);
	if (!json_object_get(s, "check")) {
		json_decref(s);
		return CRATIS_OK;
	}
	struct cratis_run_result res;
	int rc = run_cmd(req, s, "check", &res);
	json_t *doc;
	if (rc == 0) {
		host->free(res.out);
		host->free(res.err);
		doc = json_pack("{s:b,s:b}", "exists", 1, "drift", 0);
	} else {
		doc = json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", "check command failed");
	}
	*out = spec_out(host, doc);
	json_decref(doc);
	json_decref(s);
	return CRATIS_OK;
}

static const struct cratis_ops ops = {
	.size = sizeof(struct cratis_ops),
	.validate = validate,
	.apply = apply,
	.destroy = destroy,
	.observe = observe,
};
static const char *const versions[] = { "v1", NULL };
/* The kind's fields (ABI 1.3): any other field is refused at its location (docs/manifests.md). */
static const struct cratis_field fields[] = {
	{ sizeof(struct cratis_field), "spec.apply", "argv", "run on create and update", NULL, 1 },
	{ sizeof(struct cratis_field), "spec.destroy", "argv", "run on destroy", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.check", "argv", "run on plan; a non-zero exit is drift", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.shell", "boolean", "commands may be strings run by /bin/sh -c", "false", 0 },
	{ sizeof(struct cratis_field), "spec.env.*", "string", "variables added to the process environment", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.workdir", "string", "working directory, relative to the project", "the project directory", 0 },
	{ sizeof(struct cratis_field), "spec.timeoutSeconds", "integer", "the command is killed after this", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.outputs", "array", "names of NAME=VALUE lines read from apply's stdout, or {name, sensitive: true}", NULL, 0 },
	{ 0 },
};
static const struct cratis_handler task = {
	sizeof(struct cratis_handler), "exec", "Task", versions, &ops, NULL, fields,
};

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *h,
                                            struct cratis_plugin_ctx *ctx)
{
	if (abi_major != CRATIS_ABI_MAJOR)
		return CRATIS_EABI;
	if (host != h) /* loaded again by another app of the process (cratis serve): the same host */
		host = h;
	int rc = ctx->set_info(ctx, CRATIS_ABI_MAJOR, "exec", "0.1.0", NULL, NULL);
	if (!rc)
		rc = ctx->register_handler(ctx, &task);
	return rc;
}
