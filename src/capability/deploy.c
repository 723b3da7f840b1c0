/* Deploying a capability resource through OpenTofu: render its own root module into its state
 * directory, then tofu init / apply / output -json there (deploy.h). */
#define _GNU_SOURCE
#include "deploy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capability.h"
#include "plugin/registry.h"
#include "util/error.h"
#include "banned.h"

char *cap_tofu_find(const char *path)
{
	static const char *const tools[] = { "tofu", "terraform" };
	if (!path || !*path)
		return NULL;
	for (size_t t = 0; t < sizeof(tools) / sizeof(*tools); t++) {
		for (const char *p = path; ; ) {
			const char *colon = strchr(p, ':');
			size_t n = colon ? (size_t)(colon - p) : strlen(p);
			if (n) {
				char *cand = xasprintf("%.*s/%s", (int)n, p, tools[t]);
				struct stat st;
				if (cand[0] == '/' && !stat(cand, &st) && S_ISREG(st.st_mode) && !access(cand, X_OK))
					return cand;
				free(cand);
			}
			if (!colon)
				break;
			p = colon + 1;
		}
	}
	return NULL;
}

/* What tofu said went wrong, in an owned copy: the text after the first "Error: " in s (its
 * summary line), else the last line that is not blank; "" when s has none. */
static char *last_words(const char *s)
{
	s = s ? s : "";
	const char *err = strstr(s, "Error: ");
	if (err) {
		err += 7;
		return xstrndup(err, strcspn(err, "\n"));
	}
	const char *best = NULL;
	size_t bn = 0;
	for (const char *p = s; *p; ) {
		size_t n = strcspn(p, "\n");
		if (strspn(p, " \t\r") < n) {
			best = p;
			bn = n;
		}
		p += n + (p[n] ? 1 : 0);
	}
	return best ? xstrndup(best, bn) : xstrdup("");
}

/* Run TOOL args... in dir; *stdout_out (owned, may be NULL) gets its stdout. CRATIS_OK when it
 * exited 0; else the error is set through the host. */
static int run_tool(const struct cratis_request *req, const char *tool, const char *dir, const char *const *args,
                    char **stdout_out)
{
	const char *argv[8];
	size_t n = 0;
	argv[n++] = tool;
	for (size_t i = 0; args[i] && n < 7; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	static const char *const envp[] = { "TF_IN_AUTOMATION=1", "TF_INPUT=0", NULL };
	struct cratis_run_result r = { .size = sizeof(r) };
	const char *name = strrchr(tool, '/') ? strrchr(tool, '/') + 1 : tool;
	host_services.log(req->call, CRATIS_LOG_INFO, "%s %s (in %s)", name, args[0], dir);
	int rc = host_services.run(req->call, argv, envp, dir, req->timeout_ms, &r);
	if (rc) {
		host_services.error(req->call, NULL, "cannot run %s %s in %s", tool, args[0], dir);
		return CRATIS_EIO;
	}
	if (r.exit_code || r.timed_out) {
		char *why = last_words(r.err && *r.err ? r.err : r.out);
		host_services.error(req->call, NULL, "`%s %s` failed in %s (%s %d)%s%s", name, args[0], dir,
		                    r.timed_out ? "timed out, killed; exit" : "exit", r.exit_code, *why ? ": " : "", why);
		free(why);
		rc = CRATIS_ERROR;
	} else if (stdout_out) {
		*stdout_out = xstrdup(r.out ? r.out : "");
	}
	host_services.free(r.out);
	host_services.free(r.err);
	return rc;
}

static int need_model(const struct cap_kind *k, const struct cratis_request *req)
{
	if (k->plugin->catalog && k->plugin->catalog->model)
		return CRATIS_OK;
	host_services.error(req->call, NULL, "%s/%s: no environment loaded to deploy the capability from", k->kind, req->name);
	return CRATIS_ERROR;
}

/* The tool, or an error saying OpenTofu is needed. */
static char *need_tool(const struct cap_kind *k, const struct cratis_request *req)
{
	char *tool = cap_tofu_find(getenv("PATH"));
	if (!tool)
		host_services.error(req->call, NULL,
		                    "%s/%s is a portable capability deployed with OpenTofu, and neither `tofu` nor `terraform` "
		                    "is on the PATH: install OpenTofu (https://opentofu.org/docs/intro/install/), or run "
		                    "`cratis render --env %s -o DIR` and apply DIR with your own tooling",
		                    k->kind, req->name, *req->environment ? req->environment : "ENV");
	return tool;
}

int cap_tofu_apply(void *data, const struct cratis_request *req, char **out)
{
	const struct cap_kind *k = data;
	int rc = need_model(k, req);
	if (rc)
		return rc;
	char *tool = need_tool(k, req);
	if (!tool)
		return CRATIS_ENOTFOUND;
	const struct cap_catalog *cat = k->plugin->catalog;
	char *id = xasprintf("%s/%s", k->kind, req->name);
	json_t *spec = req->spec ? json_loads(req->spec, 0, NULL) : NULL;
	struct render_result rr;
	render_result_init(&rr);
	struct diags d = DIAGS_INIT;
	char *text = NULL;
	json_t *outputs = NULL;
	rc = cap_render_resource(&rr, cat, cat->model, NULL, id, spec, &d);
	if (rc) {
		struct buf b = BUF_INIT;
		for (size_t i = 0; i < d.n; i++) {
			if (d.v[i].severity != DIAG_ERROR)
				continue;
			if (b.len)
				buf_adds(&b, "; ");
			diag_format(&d.v[i], &b);
		}
		while (b.len && b.ptr[b.len - 1] == '\n')
			b.ptr[--b.len] = '\0';
		host_services.error(req->call, NULL, "%s: cannot render its OpenTofu root module: %s", id, b.len ? b.ptr : "unknown error");
		buf_release(&b);
		goto out;
	}
	if (mkdir_p(req->statedir) < 0 || cap_render_write(&rr, req->statedir)) {
		host_services.error(req->call, NULL, "%s: cannot write its OpenTofu root module into %s: %s", id, req->statedir,
		                    cratis_error_last()->message[0] ? cratis_error_last()->message : strerror(errno));
		rc = CRATIS_EIO;
		goto out;
	}
	static const char *const init[] = { "init", "-input=false", "-no-color", NULL };
	static const char *const apply[] = { "apply", "-input=false", "-no-color", "-auto-approve", NULL };
	static const char *const output[] = { "output", "-json", "-no-color", NULL };
	if ((rc = run_tool(req, tool, req->statedir, init, NULL)) || (rc = run_tool(req, tool, req->statedir, apply, NULL)) ||
	    (rc = run_tool(req, tool, req->statedir, output, &text)))
		goto out;
	json_error_t je;
	json_t *root = json_loads(text, 0, &je);
	if (!json_is_object(root)) {
		host_services.error(req->call, NULL, "%s: `output -json` did not print a JSON object: %s", id,
		                    root ? "another JSON value" : je.text);
		json_decref(root);
		rc = CRATIS_EINVAL;
		goto out;
	}
	/* the root outputs <module>_<output>: the module name is what render gave it */
	struct buf mod = BUF_INIT;
	for (const char *s = k->kind; *s; s++) {
		if (*s >= 'A' && *s <= 'Z' && s != k->kind)
			buf_addch(&mod, '_');
		buf_addch(&mod, (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s));
	}
	buf_addch(&mod, '_');
	for (const char *s = req->name; *s; s++)
		buf_addch(&mod, (char)((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ? *s : '_'));
	outputs = json_object();
	json_t *sensitive = json_array();   /* outputs OpenTofu marks sensitive: sealed in state */
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(k->def, "outputs"), i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		char *key = xasprintf("%s_%s", mod.ptr, name);
		json_t *entry = json_object_get(root, key);
		json_t *v = json_object_get(entry, "value");
		if (!v) {
			host_services.error(req->call, NULL, "%s: `output -json` has no output '%s' (the portable output '%s')", id, key, name);
			rc = CRATIS_EINVAL;
		} else {
			json_object_set(outputs, name, v);
			if (json_is_true(json_object_get(entry, "sensitive")))
				json_array_append_new(sensitive, json_string(name));
		}
		free(key);
		if (rc)
			break;
	}
	buf_release(&mod);
	json_decref(root);
	if (rc) {
		json_decref(sensitive);
		goto out;
	}
	const char *tname = strrchr(tool, '/') + 1;
	char *state = xasprintf("%s/terraform.tfstate", req->statedir);
	json_object_set_new(outputs, "opentofu", json_pack("{s:s,s:s,s:s}", "tool", tname, "workdir", req->statedir, "state", state));
	free(state);
	json_t *reply = json_pack("{s:O,s:o}", "outputs", outputs, "sensitive", sensitive);
	char *s = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	*out = host_services.alloc(strlen(s) + 1);
	memcpy(*out, s, strlen(s) + 1);
	free(s);
out:
	json_decref(outputs);
	free(text);
	diags_release(&d);
	render_result_release(&rr);
	json_decref(spec);
	free(id);
	free(tool);
	return rc;
}

int cap_tofu_destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)out;
	const struct cap_kind *k = data;
	char *main_tf = xasprintf("%s/main.tf", req->statedir);
	bool rendered = !access(main_tf, F_OK);
	free(main_tf);
	if (!rendered)
		return CRATIS_OK;   /* never deployed through OpenTofu: nothing of it exists */
	char *tool = need_tool(k, req);
	if (!tool)
		return CRATIS_ENOTFOUND;
	static const char *const init[] = { "init", "-input=false", "-no-color", NULL };
	static const char *const destroy[] = { "destroy", "-input=false", "-no-color", "-auto-approve", NULL };
	int rc = run_tool(req, tool, req->statedir, init, NULL);
	if (!rc)
		rc = run_tool(req, tool, req->statedir, destroy, NULL);
	free(tool);
	return rc;
}
