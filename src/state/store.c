/* Backend-independent part of the state store (see store.h). */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "banned.h"

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

int store_lock(struct store *s, struct lock_info *me, int timeout_ms, struct lock_info *holder)
{
	return s->ops->lock(s, me, timeout_ms, holder);
}

int store_unlock(struct store *s, const char *lock_id)
{
	return s->ops->unlock(s, lock_id);
}

int store_locks(struct store *s, struct lock_info **out, size_t *n)
{
	return s->ops->locks(s, out, n);
}

int store_list(struct store *s, const char *environment, struct state_rows *out)
{
	return s->ops->list(s, environment, out);
}

int store_mark_pending(struct store *s, const char *environment, const struct state_row *r)
{
	return s->ops->mark_pending(s, environment, r);
}

int store_record(struct store *s, const char *environment, const struct state_row *r,
                 const struct step *st, int64_t deployment)
{
	return s->ops->record(s, environment, r, st, deployment);
}

int store_remove(struct store *s, const char *environment, const char *project, const char *id,
                 const struct step *st, int64_t deployment)
{
	return s->ops->remove(s, environment, project, id, st, deployment);
}

int store_deployment_begin(struct store *s, struct deployment *d)
{
	return s->ops->deployment_begin(s, d);
}

int store_deployment_finish(struct store *s, const struct deployment *d)
{
	return s->ops->deployment_finish(s, d);
}

int store_history(struct store *s, const char *environment, int limit, struct deployments *out)
{
	return s->ops->history(s, environment, limit, out);
}

int store_steps(struct store *s, int64_t deployment, struct steps *out)
{
	return s->ops->steps(s, deployment, out);
}

void store_rows_release(struct state_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++) {
		struct state_row *r = &rows->v[i];
		free(r->project);
		free(r->environment);
		free(r->id);
		free(r->api_version);
		free(r->spec);
		free(r->outputs);
		free(r->deps);
		free(r->status);
		free(r->pending_spec);
		free(r->message);
		free(r->updated);
	}
	free(rows->v);
	memset(rows, 0, sizeof(*rows));
}

struct state_row *store_rows_find(struct state_rows *rows, const char *project, const char *id)
{
	/* rows are ordered by (project, id): binary search */
	size_t lo = 0, hi = rows->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(rows->v[mid].project, project);
		if (!c)
			c = strcmp(rows->v[mid].id, id);
		if (!c)
			return &rows->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void store_deployments_release(struct deployments *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct deployment *x = &d->v[i];
		free(x->project);
		free(x->environment);
		free(x->command);
		free(x->user);
		free(x->host);
		free(x->started);
		free(x->finished);
		free(x->result);
		free(x->summary);
		free(x->inputs);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void store_steps_release(struct steps *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].resource);
		free(st->v[i].action);
		free(st->v[i].result);
		free(st->v[i].message);
		free(st->v[i].started);
		free(st->v[i].finished);
	}
	free(st->v);
	memset(st, 0, sizeof(*st));
}

int store_artifact_record(struct store *s, const struct artifact *a, enum artifact_outcome *outcome,
                          struct artifact *existing)
{
	return s->ops->artifact_record(s, a, outcome, existing);
}

int store_artifacts(struct store *s, const char *name, bool history, struct artifacts *out)
{
	return s->ops->artifacts(s, name, history, out);
}

void artifact_release(struct artifact *a)
{
	free(a->name);
	free(a->version);
	free(a->digest);
	free(a->recorded);
	free(a->user);
	memset(a, 0, sizeof(*a));
}

void store_artifacts_release(struct artifacts *a)
{
	for (size_t i = 0; i < a->n; i++)
		artifact_release(&a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

int store_release_put(struct store *s, const struct release *r)
{
	return s->ops->release_put(s, r);
}

int store_releases(struct store *s, const char *environment, const char *project, const char *rollout,
                   struct releases *out)
{
	return s->ops->releases(s, environment, project, rollout, out);
}

void store_releases_release(struct releases *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct release *x = &r->v[i];
		free(x->project);
		free(x->environment);
		free(x->rollout);
		free(x->id);
		free(x->colour);
		free(x->spec);
		free(x->status);
		free(x->stage);
		free(x->log);
		free(x->created);
		free(x->updated);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}
