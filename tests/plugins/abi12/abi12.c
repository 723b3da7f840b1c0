/* Test plugin for ABI 1.2: kind probe/v1 Probe. Every op appends what it received (System,
 * deadline, dry run, sizes) as a JSON line to spec.record; apply exercises the 1.2 host services
 * (secret, emit, run_with with stdin, streamed lines and a cap, spawn_detached) and answers with
 * what they returned, so tests can assert both sides of the contract. */
#define _GNU_SOURCE
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cratis/plugin.h"

static const struct cratis_host *host;
static pthread_mutex_t record_lock = PTHREAD_MUTEX_INITIALIZER;   /* ops run concurrently */

static char *to_host(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	size_t n = strlen(s) + 1;
	char *o = host->alloc(n);
	memcpy(o, s, n);
	free(s);
	return o;
}

/* The spec of the request, or the recorded one (destroy, observe). New reference. */
static json_t *spec_of(const struct cratis_request *req)
{
	if (req->spec)
		return json_loads(req->spec, 0, NULL);
	json_t *p = req->prior ? json_loads(req->prior, 0, NULL) : NULL;
	json_t *s = json_incref(json_object_get(p, "spec"));
	json_decref(p);
	return s;
}

static void record(const char *op, const struct cratis_request *req, json_t *spec)
{
	const char *path = json_string_value(json_object_get(spec, "record"));
	if (!path)
		return;
	json_t *r = json_pack("{s:s,s:s,s:s,s:I,s:i}", "op", op, "project", req->project, "environment",
	                      req->environment, "size", (json_int_t)req->size, "timeoutMs", req->timeout_ms);
	if (CRATIS_HAS(req, dry_run)) {
		json_t *sys = json_loads(req->system_spec, 0, NULL);
		json_object_set_new(r, "system", json_string(req->system));
		json_object_set_new(r, "systemType", json_string(req->system_type));
		json_object_set_new(r, "systemSpec", sys ? sys : json_null());
		json_object_set_new(r, "deadlineMs", json_integer(req->deadline_ms));
		json_object_set_new(r, "dryRun", json_integer(req->dry_run));
	}
	char *line = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	pthread_mutex_lock(&record_lock);
	FILE *f = fopen(path, "a");
	if (f) {
		fprintf(f, "%s\n", line);
		fclose(f);
	}
	pthread_mutex_unlock(&record_lock);
	free(line);
	json_decref(r);
}

static int validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = spec_of(req);
	record("validate", req, s);
	json_decref(s);
	return CRATIS_OK;
}

static int observe(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *s = spec_of(req);
	record("observe", req, s);
	json_decref(s);
	json_t *o = json_pack("{s:b,s:b}", "exists", 1, "drift", 0);
	*out = to_host(o);
	json_decref(o);
	return CRATIS_OK;
}

struct lines {
	json_t *list;
	int stop_at;   /* stop the process at this line (1-based); 0 = never */
	int seen;
};

static int on_line(void *payload, int stream, const char *line, size_t len)
{
	struct lines *l = payload;
	json_array_append_new(l->list, json_pack("{s:i,s:s%}", "stream", stream, "line", line, len));
	l->seen++;
	return l->stop_at && l->seen >= l->stop_at ? -42 : 0;
}

static int apply(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *s = spec_of(req);
	record("apply", req, s);
	json_t *o = json_object();
	int rc = CRATIS_OK;
	if (!CRATIS_HOST_HAS(host, spawn_detached)) {
		host->error(req->call, NULL, "this host is older than ABI 1.2");
		rc = CRATIS_EABI;
		goto out;
	}
	/* secret: the reference is given as text or as an auth reference object */
	json_t *ref = json_object_get(s, "secret");
	if (ref) {
		char *text = json_is_string(ref) ? strdup(json_string_value(ref)) : json_dumps(ref, JSON_COMPACT);
		char *v = NULL;
		int src = host->secret(req->call, text, &v);
		json_object_set_new(o, "secretStatus", json_integer(src));
		if (!src) {
			json_object_set_new(o, "secretLength", json_integer((json_int_t)strlen(v)));
			json_object_set_new(o, "secretPrefix", json_stringn(v, strlen(v) < 3 ? strlen(v) : 3));
			memset(v, 0, strlen(v));
			host->free(v);
		}
		free(text);
	}
	/* the System's auth references, resolved the way a real plugin would */
	if (CRATIS_HAS(req, system_spec)) {
		json_t *sys = json_loads(req->system_spec, 0, NULL);
		json_t *token = json_object_get(json_object_get(sys, "auth"), "token");
		if (token) {
			char *text = json_dumps(token, JSON_COMPACT);
			char *v = NULL;
			if (!host->secret(req->call, text, &v)) {
				json_object_set_new(o, "authTokenLength", json_integer((json_int_t)strlen(v)));
				host->free(v);
			}
			free(text);
		}
		json_decref(sys);
	}
	/* emit */
	char ev[256];
	snprintf(ev, sizeof(ev), "{\"name\":\"%s\"}", req->name);
	json_object_set_new(o, "emitStatus", json_integer(host->emit(req->call, "probe.applied", ev)));
	json_object_set_new(o, "emitBadStatus", json_integer(host->emit(req->call, "probe.bad", "{not json")));
	/* emit what spec.say holds, as given (a resolved secret or sensitive value: the host must scrub it) */
	const char *say = json_string_value(json_object_get(s, "say"));
	if (say) {
		json_t *said = json_pack("{s:s,s:{s:[s]}}", "said", say, "nested", "values", say);
		char *text = json_dumps(said, JSON_COMPACT);
		json_decref(said);
		json_object_set_new(o, "emitSaidStatus", json_integer(host->emit(req->call, "probe.said", text)));
		free(text);
	}
	/* run_with: stdin data, streamed lines, a small stdout cap */
	const char *in = json_string_value(json_object_get(s, "stdin"));
	if (in) {
		const char *argv[] = { "cat", NULL };
		struct lines l = { json_array(), 0, 0 };
		struct cratis_run_opts ro = { .size = sizeof(ro), .argv = argv, .timeout_ms = 10000, .stdin_data = in,
		                              .stdin_len = strlen(in), .out_cap = 4, .on_line = on_line, .payload = &l };
		struct cratis_run_result r = { .size = sizeof(r) };
		int rr = host->run_with(req->call, &ro, &r);
		json_object_set_new(o, "runStatus", json_integer(rr));
		json_object_set_new(o, "runExit", json_integer(r.exit_code));
		json_object_set_new(o, "runCaptured", json_string(r.out ? r.out : ""));
		json_object_set_new(o, "runTruncated", json_boolean(r.out_truncated));
		json_object_set_new(o, "runLines", l.list);
		host->free(r.out);
		host->free(r.err);
	}
	if (json_is_true(json_object_get(s, "stopEarly"))) {
		const char *argv[] = { "sh", "-c", "echo first; echo second >&2; exec sleep 30", NULL };
		struct lines l = { json_array(), 1, 0 };
		struct cratis_run_opts ro = { .size = sizeof(ro), .argv = argv, .on_line = on_line, .payload = &l };
		struct cratis_run_result r = { .size = sizeof(r) };
		json_object_set_new(o, "stopStatus", json_integer(host->run_with(req->call, &ro, &r)));
		json_object_set_new(o, "stopExit", json_integer(r.exit_code));
		json_object_set_new(o, "stopLines", l.list);
		host->free(r.out);
		host->free(r.err);
	}
	/* spawn_detached */
	if (json_is_true(json_object_get(s, "detach"))) {
		const char *argv[] = { "sh", "-c", "echo \"detached $PROBE_VALUE\"; exec sleep 60", NULL };
		const char *envp[] = { "PROBE_VALUE=42", NULL };
		char log[4096];
		snprintf(log, sizeof(log), "%s.log", json_string_value(json_object_get(s, "record")));
		int64_t pid = 0;
		uint64_t st = 0;
		int dr = host->spawn_detached(req->call, argv, envp, "/", log, &pid, &st);
		json_object_set_new(o, "detachStatus", json_integer(dr));
		json_object_set_new(o, "pid", json_integer(pid));
		json_object_set_new(o, "startTime", json_integer((json_int_t)st));
		json_object_set_new(o, "log", json_string(log));
		const char *bad[] = { "/nonexistent/program", NULL };
		int64_t p2 = 0;
		uint64_t st2 = 0;
		json_object_set_new(o, "detachBadStatus", json_integer(host->spawn_detached(req->call, bad, NULL, NULL, NULL, &p2, &st2)));
	}
out:;
	json_t *doc = json_pack("{s:o}", "outputs", o);
	if (!rc)
		*out = to_host(doc);
	json_decref(doc);
	json_decref(s);
	return rc;
}

static int destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = spec_of(req);
	record("destroy", req, s);
	json_t *p = req->prior ? json_loads(req->prior, 0, NULL) : NULL;
	json_int_t pid = json_integer_value(json_object_get(json_object_get(p, "outputs"), "pid"));
	if (pid > 1)
		kill(-(pid_t)pid, SIGKILL);
	json_decref(p);
	json_decref(s);
	return CRATIS_OK;
}

static const struct cratis_ops ops = { sizeof(struct cratis_ops), validate, NULL, apply, destroy, observe };
static const char *const versions[] = { "v1", NULL };
static const struct cratis_handler probe = { sizeof(struct cratis_handler), "probe", "Probe", versions, &ops, NULL, NULL };

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *h,
                                            struct cratis_plugin_ctx *ctx)
{
	if (abi_major != CRATIS_ABI_MAJOR)
		return CRATIS_EABI;
	host = h;
	int rc = ctx->set_info(ctx, CRATIS_ABI_MAJOR, "probe", "1.2.0", NULL, NULL);
	return rc ? rc : ctx->register_handler(ctx, &probe);
}
