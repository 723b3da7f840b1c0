/* The event outbox through the application layer: listing, delivery to the Project's sinks, and
 * sink status (docs/events.md). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "app_internal.h"
#include "events/dispatch.h"
#include "secret/secret.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

/* Every sink of every Project of the model. */
static int sinks_of(struct app *a, struct sink_config **out, size_t *n, struct diags *d)
{
	*out = NULL;
	*n = 0;
	size_t alloc = 0;
	for (size_t i = 0; i < a->model.nprojects; i++) {
		const struct project *p = &a->model.projects[i];
		if (!p->doc)
			continue;
		struct sink_config *v;
		size_t k;
		int rc = events_sinks_parse(p->doc, p->doc->root, &v, &k, d);
		if (rc) {
			for (size_t j = 0; j < *n; j++)
				sink_config_free(&(*out)[j]);
			free(*out);
			*out = NULL;
			*n = 0;
			return rc;
		}
		for (size_t j = 0; j < k; j++) {
			ALLOC_GROW(*out, *n + 1, alloc);
			(*out)[(*n)++] = v[j];
		}
		free(v);
	}
	return CRATIS_OK;
}

static void sinks_free(struct sink_config *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sink_config_free(&v[i]);
	free(v);
}

/* Resolve the webhook secrets of cfgs (`secret: ${secret:NAME}` of their Project) into
 * cfg->secret, now that they are about to be used; a secret that cannot be read leaves the sink
 * out: it is not opened (its events wait) and *why says so. */
static void resolve_secrets(struct app *a, struct sink_config *cfgs, size_t n, char **why)
{
	struct secret_store *ss = NULL;
	size_t k = 0;
	for (size_t i = 0; i < a->model.nprojects; i++) {
		const struct project *p = &a->model.projects[i];
		json_t *spec = p->doc ? json_object_get(p->doc->root, "spec") : NULL;
		json_t *sinks = json_object_get(json_object_get(spec, "events"), "sinks");
		size_t j;
		json_t *o;
		json_array_foreach(sinks, j, o) {
			if (k >= n)
				break;
			struct sink_config *c = &cfgs[k++];
			char *name = NULL;
			if (!events_secret_name(json_string_value(json_object_get(o, "secret")), &name))
				continue;
			if (!ss)
				ss = secret_store_new(a->opts.statedir, a->opts.workdir, a->opts.timeout_ms, a->opts.secret_key_file);
			if (secret_store_get(ss, &c->secret, json_object_get(spec, "secrets"), p->name, name)) {
				c->secret = NULL;
				why[k - 1] = xasprintf("secret '%s' of sink '%s': %s", name, c->name, cratis_error_last()->message);
			}
			free(name);
		}
	}
	secret_store_free(ss);
}

int app_events_deliver(struct app *a, int timeout_ms, json_t **out, struct diags *d)
{
	*out = json_array();
	struct sink_config *cfgs;
	size_t n;
	int rc = sinks_of(a, &cfgs, &n, d);
	if (rc || !n)
		return rc;
	char **why = xcalloc(n, sizeof(char *));
	resolve_secrets(a, cfgs, n, why);
	struct dispatch_result *res = xcalloc(n, sizeof(*res));
	struct dispatch_opts o = { .deadline_ms = store_now(a->store) + (timeout_ms > 0 ? timeout_ms : 0), .cancel = a->cancel };
	/* a sink whose secret cannot be read is left out: sending unsigned would be worse */
	struct sink_config *use = xcalloc(n, sizeof(*use));
	size_t *map = xcalloc(n, sizeof(size_t)), m = 0;
	for (size_t i = 0; i < n; i++)
		if (!why[i]) {
			use[m] = cfgs[i];
			map[m++] = i;
		}
	struct dispatch_result *part = xcalloc(m + 1, sizeof(*part));
	rc = dispatch_all(a->store, use, m, &o, part);
	for (size_t i = 0; i < m; i++)
		res[map[i]] = part[i];
	for (size_t i = 0; i < n; i++)
		if (why[i]) {
			res[i].open_status = CRATIS_ENOTFOUND;
			snprintf(res[i].message, sizeof(res[i].message), "%s", why[i]);
			struct store_sink_status st;
			if (!store_sink_status(a->store, cfgs[i].name, &st))
				res[i].left = (size_t)st.backlog;
			store_sink_status_release(&st);
			free(why[i]);
		}
	free(part);
	free(map);
	free(use);
	free(why);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(*out, json_pack("{s:s,s:I,s:I,s:I,s:I,s:b,s:s}", "sink", cfgs[i].name,
		                                      "delivered", (json_int_t)res[i].delivered, "dead", (json_int_t)res[i].dead,
		                                      "skipped", (json_int_t)res[i].skipped, "left", (json_int_t)res[i].left,
		                                      "disabled", res[i].disabled, "message", res[i].message));
	if (rc)
		diags_add_last_error(d);
	free(res);
	sinks_free(cfgs, n);
	return rc;
}

int app_events_sinks(struct app *a, json_t **out, struct diags *d)
{
	*out = json_array();
	struct sink_config *cfgs;
	size_t n;
	int rc = sinks_of(a, &cfgs, &n, d);
	static const char *const kinds[] = { "webhook", "nats", "file" };
	for (size_t i = 0; i < n && !rc; i++) {
		struct store_sink_status st;
		if ((rc = store_sink_status(a->store, cfgs[i].name, &st))) {
			diags_add_last_error(d);
			break;
		}
		json_array_append_new(*out, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s?,s:s?,s:s?}", "sink", cfgs[i].name,
		                                      "type", kinds[cfgs[i].kind], "status", st.disabled ? "disabled" : "enabled",
		                                      "backlog", (json_int_t)st.backlog, "delivered", (json_int_t)st.delivered,
		                                      "dead", (json_int_t)st.dead, "last_error", st.last_error,
		                                      "last_delivered", st.last_delivered, "reason", st.reason));
		store_sink_status_release(&st);
	}
	sinks_free(cfgs, n);
	return rc;
}

int app_events_list(struct app *a, const char *since, const char *type, size_t limit, json_t **out, struct diags *d)
{
	*out = json_array();
	struct event_query q = { .type = type, .limit = limit };
	if (since) {
		char *end;
		long long seq = strtoll(since, &end, 10);
		if (!*end && end != since)
			q.after_seq = seq;
		else
			q.since = since;
	}
	struct store_events ev;
	int rc = store_events(a->store, &q, &ev);
	if (rc) {
		diags_add_last_error(d);
		return rc;
	}
	for (size_t i = 0; i < ev.n; i++) {
		char *text;
		if (cloud_event_to_json(&ev.v[i], &text))
			continue;
		json_t *o = json_loads(text, 0, NULL);
		free(text);
		if (o) {
			json_object_set_new(o, "seq", json_integer((json_int_t)ev.v[i].seq));
			json_array_append_new(*out, o);
		}
	}
	store_events_release(&ev);
	return CRATIS_OK;
}

int app_events_redeliver(struct app *a, const char *sink, const char *event_id, const char *since, size_t *n,
                         struct diags *d)
{
	int rc = store_redeliver(a->store, sink, event_id, since, n);
	if (rc)
		diags_add_last_error(d);
	return rc;
}

/* The project of events that concern the environment as a whole: the only Project, else "_". */
static const char *env_project(const struct app *a)
{
	return a->model.nprojects == 1 && a->model.projects[0].name ? a->model.projects[0].name : "_";
}

/* The data of lock.taken, made in the transaction that takes the lock (store_lock_ev), where
 * the holder it took over, if any, is known. */
static char *lock_taken_data(const struct store_emit_info *info, size_t i, void *payload)
{
	(void)i;
	(void)payload;
	const struct lock_info *me = info->lock, *prev = info->previous;
	if (!me)
		return NULL;
	json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:I,s:b}", "lock", me->id, "environment", me->environment, "holder", me->owner,
	                      "host", me->host, "pid", (json_int_t)me->pid, "takeover", prev != NULL);
	if (prev)
		json_object_set_new(d, "previous", json_pack("{s:s,s:s,s:I,s:I}", "lock", prev->id, "holder", prev->owner, "pid",
		                                             (json_int_t)prev->pid, "deployment", (json_int_t)prev->deployment));
	char *data = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(d);
	return data;
}

void app_lock_event(struct app *a, const char *environment, struct app_lock_event *e)
{
	e->source = xasprintf("/projects/%s/environments/%s", env_project(a), environment && *environment ? environment : "_");
	e->ev = (struct store_event){ .type = CRATIS_EVENT_PREFIX "lock.taken", .source = e->source };
	e->emits = (struct store_emits){ .events = &e->ev, .n = 1, .data_for = lock_taken_data };
}

void app_lock_event_release(struct app_lock_event *e)
{
	free(e->source);
	e->source = NULL;
}

int app_events_enable(struct app *a, const char *sink, struct diags *d)
{
	int rc = store_sink_set_disabled(a->store, sink, false, NULL);
	if (rc)
		diags_add_last_error(d);
	return rc;
}
