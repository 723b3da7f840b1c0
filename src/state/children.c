/* Child resources: the Service of every release a Rollout runs and the Route that serves them,
 * read from the Rollout's release rows (store_children, see store.h). A child is a projection of
 * its release row, so it is created and retired in the same transaction as the release switch
 * that makes or ends it: there is never a child without its release or the reverse. */
#define _GNU_SOURCE
#include "state/store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/util.h"
#include "banned.h"

bool store_release_runs(const char *status)
{
	static const char *const live[] = { "active", "preview", "previous", "variant", "promoting", "retiring", "failing", NULL };
	for (size_t i = 0; status && live[i]; i++)
		if (!strcmp(status, live[i]))
			return true;
	return false;
}

static void push(struct state_rows *out, const struct state_row *owner, char *id, const char *api, char *spec,
                 char *outputs, const char *who, const char *updated, json_t *deps)
{
	ALLOC_GROW(out->v, out->n + 1, out->alloc);
	struct state_row *c = &out->v[out->n++];
	memset(c, 0, sizeof(*c));
	c->project = xstrdup(owner->project);
	c->environment = xstrdup(owner->environment ? owner->environment : "");
	c->id = id;
	c->api_version = xstrdup(api);
	c->spec = spec;
	c->outputs = outputs;
	c->deps = json_dumps(deps, JSON_COMPACT);
	json_decref(deps);
	c->status = xstrdup("ready");
	c->updated = xstrdup(updated ? updated : owner->updated ? owner->updated : "");
	c->deployment = owner->deployment;
	c->owner = xstrdup(who);
}

/* The experiment (record name) running release id of rollout, and the variant's weight; NULL. */
static const char *experiment_of(const struct records *xs, const char *rollout, const char *id, double *weight)
{
	for (size_t i = 0; i < xs->n; i++) {
		json_t *b = json_loads(xs->v[i].body, 0, NULL);
		const char *ro = json_string_value(json_object_get(b, "rollout"));
		size_t k;
		json_t *v;
		bool hit = false;
		json_array_foreach(ro && !strcmp(ro, rollout) ? json_object_get(b, "variants") : NULL, k, v) {
			const char *rel = json_string_value(json_object_get(v, "release"));
			if (rel && !strcmp(rel, id)) {
				*weight = json_number_value(json_object_get(v, "weight"));
				hit = true;
				break;
			}
		}
		json_decref(b);
		if (hit)
			return xs->v[i].name;
	}
	return NULL;
}

char *store_route_spec(int active_port, int preview_port, int active, int preview)
{
	char up[32], pup[32];
	snprintf(up, sizeof(up), "127.0.0.1:%d", active ? active : preview);
	snprintf(pup, sizeof(pup), "127.0.0.1:%d", preview ? preview : active);
	/* before anything is live, only the preview address is served */
	json_t *s = active ? json_pack("{s:i,s:s,s:{s:i,s:s}}", "listen", active_port, "upstream", up, "preview", "listen", preview_port,
	                               "upstream", pup)
	                   : json_pack("{s:i,s:s}", "listen", preview_port, "upstream", up);
	char *text = json_dumps(s, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(s);
	return text;
}

/* A port field of a Rollout spec: an integer, or digits (variables are text); 0 otherwise. */
static int port_of(json_t *spec, const char *k)
{
	json_t *v = json_object_get(spec, k);
	if (json_is_integer(v))
		return json_integer_value(v) > 0 && json_integer_value(v) < 65536 ? (int)json_integer_value(v) : 0;
	const char *s = json_string_value(v);
	if (!s || !*s || strlen(s) > 5 || strspn(s, "0123456789") != strlen(s))
		return 0;
	int p = atoi(s);
	return p < 65536 ? p : 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct state_row *x = a, *y = b;
	int c = strcmp(x->project, y->project);
	return c ? c : strcmp(x->id, y->id);
}

int store_children(struct store *s, const char *environment, struct state_rows *rows)
{
	size_t n = rows->n, added = 0;
	int rc = CRATIS_OK;
	for (size_t i = 0; i < n && !rc; i++) {
		if (strncmp(rows->v[i].id, "Rollout/", 8))
			continue;
		/* copies: rows->v moves as children are appended */
		struct state_row owner = rows->v[i];
		char *who = xstrdup(owner.id), *project = xstrdup(owner.project), *updated = xstrdup(owner.updated ? owner.updated : "");
		owner.project = project;
		owner.id = who;
		owner.updated = updated;
		owner.environment = (char *)environment;
		const char *name = who + 8;
		json_t *ospec = owner.spec ? json_loads(owner.spec, 0, NULL) : NULL;
		struct releases rels;
		struct records xs = { 0 };
		char *scope = xasprintf("%s/%s", environment ? environment : "", project);
		rc = store_releases(s, environment, project, name, &rels);
		if (!rc && store_records(s, "experiment", scope, &xs))
			error_clear(); /* a backend without records: no experiment owns a release */
		json_t *ups = json_array(), *rdeps = json_pack("[s]", who); /* the Route routes to its Services */
		int active = 0, preview = 0;
		bool split = false;
		for (size_t k = 0; !rc && k < rels.n; k++) {
			struct release *r = &rels.v[k];
			if (!store_release_runs(r->status))
				continue;
			if (!strcmp(r->status, "active") && !active)
				active = r->port;
			else if (!strcmp(r->status, "preview") && !preview)
				preview = r->port;
			split |= !strcmp(r->status, "variant");
			double weight = !strcmp(r->status, "active") || !strcmp(r->status, "promoting") ? 100 : 0;
			const char *x = experiment_of(&xs, name, r->id, &weight);
			char *xwho = x ? xasprintf("Experiment/%s", x) : NULL;
			json_t *outs = json_pack("{s:s,s:s,s:i}", "release", r->id, "status", r->status, "port", r->port);
			if (r->colour)
				json_object_set_new(outs, "colour", json_string(r->colour));
			if (r->stage)
				json_object_set_new(outs, "stage", json_string(r->stage));
			if (x)
				json_object_set_new(outs, "experiment", json_string(x));
			char *url = xasprintf("http://127.0.0.1:%d/", r->port);
			json_object_set_new(outs, "url", json_string(url));
			free(url);
			char *spec = r->spec ? xstrdup(r->spec) : NULL;
			push(rows, &owner, xasprintf("Service/%s.%s", name, r->id), "service/v1", spec, json_dumps(outs, JSON_COMPACT | JSON_SORT_KEYS),
			     xwho ? xwho : who, r->updated, json_pack("[s]", who));
			json_decref(outs);
			free(xwho);
			added++;
			json_array_append_new(rdeps, json_string(rows->v[rows->n - 1].id));
			json_array_append_new(ups, json_pack("{s:s,s:i,s:o,s:s}", "service", rows->v[rows->n - 1].id, "port", r->port,
			                                     "weight", weight == (double)(int64_t)weight ? json_integer((json_int_t)weight) : json_real(weight),
			                                     "status", r->status));
		}
		if (!rc && json_array_size(ups)) {
			json_t *rs = json_pack("{s:O?,s:O?,s:O}", "activePort", json_object_get(ospec, "activePort"), "previewPort",
			                       json_object_get(ospec, "previewPort"), "upstreams", ups);
			json_t *outs = json_object();
			if (!split) {
				/* what the Rollout writes to its router in this state (ro_route), for the
				 * Route handler's refresh; an experiment's split is the Experiment's */
				char *rt = store_route_spec(port_of(ospec, "activePort"), port_of(ospec, "previewPort"), active,
				                            preview ? preview : active);
				json_object_set_new(outs, "router", json_loads(rt, 0, NULL));
				free(rt);
			}
			push(rows, &owner, xasprintf("Route/%s", name), "router/v1", json_dumps(rs, JSON_COMPACT | JSON_SORT_KEYS),
			     json_dumps(outs, JSON_COMPACT), who, NULL, rdeps);
			rdeps = NULL;
			json_decref(rs);
			json_decref(outs);
			added++;
		}
		json_decref(ups);
		json_decref(rdeps);
		json_decref(ospec);
		store_releases_release(&rels);
		store_records_release(&xs);
		free(scope);
		free(who);
		free(project);
		free(updated);
	}
	if (added)
		qsort(rows->v, rows->n, sizeof(*rows->v), row_cmp);
	return rc;
}
