/* Experiments: the decision loop (one tick: read the metrics, decide, persist, conclude) and the
 * commands' operations: conclude, abort and status (see experiment.h). */
#define _GNU_SOURCE
#include "experiment_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/objective.h"
#include "util/buf.h"
#include "util/error.h"
#include "banned.h"

struct experiment_runner {
	struct rollout_env *env;
	struct experiment_target t;
	bool loaded;                 /* set, log and state hold what the record at rev says */
	int64_t rev;
	struct metric_set set;
	bool set_init;
	struct nginx_log log;
	bool log_init;
	struct decide_state state;
	struct objective *objective; /* a composite objective, compiled */
};

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool rec_is(json_t *rec, const char *status)
{
	const char *s = jstr(rec, "status");
	return s && !strcmp(s, status);
}

struct experiment_runner *experiment_runner_new(struct rollout_env *env, const struct experiment_target *t)
{
	struct experiment_runner *r = xcalloc(1, sizeof(*r));
	r->env = env;
	r->t = *t;
	return r;
}

static void runner_reset(struct experiment_runner *r)
{
	if (r->set_init)
		metric_set_release(&r->set);
	if (r->log_init)
		nginx_log_release(&r->log);
	objective_free(r->objective);
	r->objective = NULL;
	r->set_init = r->log_init = r->loaded = false;
	r->rev = 0;
}

void experiment_runner_free(struct experiment_runner *r)
{
	if (!r)
		return;
	runner_reset(r);
	free(r);
}

/* Restore the runner from o's record: the metrics (and the access log's position) and the
 * decision state as the last tick wrote them. */
static int runner_restore(struct experiment_runner *r, struct xop *o)
{
	runner_reset(r);
	memset(&r->set, 0, sizeof(r->set));
	struct metric_def defs[METRICS_MAX_METRICS];
	memset(defs, 0, sizeof(defs));
	int rc = xp_spec_defs(&o->spec, defs);
	const char *names[DECIDE_MAX_VARIANTS];
	for (size_t i = 0; i < o->spec.n_variants; i++)
		names[i] = o->spec.variants[i].name;
	if (!rc)
		rc = metric_set_init(&r->set, names, o->spec.n_variants, defs, o->spec.n_defs);
	for (size_t i = 0; i < o->spec.n_defs; i++)
		metric_def_release(&defs[i]);
	r->set_init = true;
	if (rc)
		return rc;
	if (o->spec.expression) {
		struct objective_metric om[METRICS_MAX_METRICS];
		for (size_t i = 0; i < r->set.n_metrics; i++)
			om[i] = (struct objective_metric){ .name = r->set.defs[i].name,
			                                   .kind = r->set.defs[i].kind == METRIC_MEAN ? DECIDE_MEAN : DECIDE_RATIO };
		struct diags d = DIAGS_INIT;
		if (objective_compile(&r->objective, o->spec.expression, om, r->set.n_metrics, NULL, &d))
			rc = error_set(CRATIS_EINVAL, "experiment %s: spec.objective.expression: %s", o->t.name, d.n ? d.v[0].message : "invalid");
		diags_release(&d);
		if (rc)
			return rc;
	}
	if (o->spec.provider == XP_NGINX) {
		nginx_log_init(&r->log, jstr(o->rec, "accessLog") ? jstr(o->rec, "accessLog") : "");
		r->log_init = true;
	}
	const char *ms = jstr(o->rec, "metricsState");
	if (ms && *ms) {
		size_t len;
		void *bin = xp_b64_decode(ms, &len);
		if (!bin)
			return error_set(CRATIS_EINVAL, "experiment %s: the recorded metrics state is not base64", o->t.name);
		rc = metrics_state_load(&r->set, r->log_init ? &r->log : NULL, bin, len);
		free(bin);
		if (rc)
			return rc;
	}
	json_t *ds = json_object_get(o->rec, "decideState");
	if (ds)
		rc = decide_state_from_json(&r->state, ds);
	else
		decide_state_init(&r->state);
	if (rc)
		return rc;
	r->loaded = true;
	r->rev = o->rev;
	return CRATIS_OK;
}

static int read_metrics(struct experiment_runner *r, struct xop *o)
{
	switch (o->spec.provider) {
	case XP_NGINX:
		return nginx_log_read(&r->log, &r->set);
	case XP_PROMETHEUS: {
		struct prom_source src = { o->spec.prom_url, o->spec.provider_timeout_ms };
		return prom_read(&r->set, &src);
	}
	case XP_COMMAND: {
		size_t n = json_array_size(o->spec.command);
		const char **argv = xcalloc(n + 1, sizeof(*argv));
		for (size_t i = 0; i < n; i++)
			argv[i] = json_string_value(json_array_get(o->spec.command, i));
		int rc = command_read(&r->set, argv, o->spec.provider_timeout_ms);
		free(argv);
		return rc;
	}
	}
	return CRATIS_EINVAL;
}

static json_t *num(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

/* The objective's value of variant v: its rate or mean. */
static double value_of(const struct metric_set *set, size_t m, size_t v)
{
	struct decide_sample s;
	metric_set_sample(&s, set, m, v);
	if (set->defs[m].kind == METRIC_RATIO)
		return s.n > 0 ? s.conversions / s.n : NAN;
	return s.n > 0 ? s.mean : NAN;
}

/* Carry out a verdict reached at a tick (or by hand). */
static int conclude_with(struct xop *o, enum decide_verdict verdict, const char *winner, const char *why)
{
	switch (verdict) {
	case DECIDE_PROMOTE:
		return xop_finish(o, "promote", winner, "concluded", why);
	case DECIDE_KEEP_CONTROL:
		return xop_finish(o, "keep", NULL, "concluded", why);
	case DECIDE_STOP_GUARDRAIL:
	case DECIDE_STOP_INVALID:
		return xop_finish(o, "keep", NULL, "stopped", why);
	case DECIDE_CONTINUE:
		break;
	}
	return CRATIS_OK;
}

static bool ended(json_t *rec)
{
	return !rec_is(rec, "running") && !rec_is(rec, "concluding") && !rec_is(rec, "starting");
}

/* A record left concluding by an interrupted run: finish what it had decided. */
static int finish_interrupted(struct xop *o)
{
	json_t *in = json_object_get(o->rec, "intent");
	return xop_finish(o, jstr(in, "action") ? jstr(in, "action") : "keep", jstr(in, "winner"),
	                  jstr(in, "status") ? jstr(in, "status") : "stopped", jstr(in, "why"));
}

int experiment_tick(struct experiment_runner *r, bool *done, json_t **status)
{
	*done = false;
	if (status)
		*status = NULL;
	struct xop o;
	int rc = xop_load(&o, r->env, &r->t, true);
	if (rc)
		goto out;
	if (rec_is(o.rec, "concluding")) {
		rc = finish_interrupted(&o);
		*done = true;
		goto out_status;
	}
	if (!rec_is(o.rec, "running")) {
		*done = ended(o.rec);
		goto out_status;
	}
	if (!r->loaded || r->rev != o.rev) {
		if ((rc = runner_restore(r, &o))) {
			runner_reset(r);
			goto out;
		}
	}
	char *moved = NULL;
	if (xop_control_moved(&o, &moved)) {
		/* the Rollout released meanwhile (its promote put the Route on the new release) */
		char *m = xasprintf("%s; the experiment's results no longer apply", moved);
		rc = xop_finish(&o, "keep", NULL, "stopped", m);
		free(m);
		free(moved);
		*done = true;
		goto out_status;
	}
	if ((rc = xop_heal_variants(&o))) {
		/* a variant that cannot serve: its users would get errors; keep the control */
		char *m = xstrdup(cratis_error_last()->message);
		rc = xop_finish(&o, "keep", NULL, "stopped", m);
		free(m);
		*done = true;
		goto out_status;
	}
	if ((rc = read_metrics(r, &o)))
		goto out;
	size_t nv = o.spec.n_variants;
	struct decide_variant_obs vobs[DECIDE_MAX_VARIANTS];
	double values[DECIDE_MAX_VARIANTS];
	memset(vobs, 0, sizeof(vobs));
	for (size_t v = 0; v < nv; v++) {
		vobs[v].name = o.spec.variants[v].name;
		vobs[v].weight = o.spec.variants[v].weight;
		vobs[v].exposures = r->set.exposures[v];
		if (r->objective) {
			struct diags d = DIAGS_INIT;
			struct objective_estimate est;
			if (objective_sample_from_set(&vobs[v].objective, &est, r->objective, &r->set, v, &d))
				rc = error_set(CRATIS_EINVAL, "experiment %s: %s", o.t.name, d.n ? d.v[0].message : "objective");
			diags_release(&d);
			values[v] = est.has_data ? est.value : NAN;
			if (rc)
				goto out;
		} else {
			metric_set_sample(&vobs[v].objective, &r->set, o.spec.objective_metric, v);
			values[v] = value_of(&r->set, o.spec.objective_metric, v);
		}
		for (size_t g = 0; g < o.spec.cfg.n_guardrails; g++)
			metric_set_sample(&vobs[v].guardrails[g], &r->set, o.spec.guardrail_metric[g], v);
	}
	int64_t started = json_integer_value(json_object_get(o.rec, "startedMs"));
	double elapsed = (double)(store_now(r->env->store) - started) / 1000.0;
	if (elapsed < 0)
		elapsed = 0;
	struct decide_observation obs = { elapsed, nv, o.spec.control, vobs };
	struct decide_result res;
	struct decide_state before = r->state;
	if ((rc = decide_tick(&res, &o.spec.cfg, &obs, &r->state))) {
		r->state = before;
		decide_result_release(&res);
		goto out;
	}
	json_t *rj = decide_result_to_json(&res, &o.spec.cfg);
	json_object_set(o.rec, "result", rj);
	json_object_set(o.rec, "reasons", json_object_get(rj, "reasons"));
	json_object_set_new(o.rec, "verdict", json_string(decide_verdict_name(res.verdict)));
	json_object_set_new(o.rec, "elapsedSeconds", json_real(elapsed));
	json_object_set_new(o.rec, "decideState", decide_state_to_json(&r->state, nv, o.spec.cfg.n_guardrails));
	struct buf b = BUF_INIT;
	metrics_state_save(&b, &r->set, r->log_init ? &r->log : NULL);
	char *b64 = xp_b64_encode(b.ptr ? b.ptr : "", b.len);
	json_object_set_new(o.rec, "metricsState", json_string(b64));
	free(b64);
	buf_release(&b);
	/* the history point */
	char at[32];
	now_rfc3339(at);
	json_t *pv = json_array();
	for (size_t v = 0; v < nv; v++) {
		const struct decide_variant_result *vr = &res.variants[v];
		bool ci = !vr->is_control && vr->has_data;
		json_array_append_new(pv, json_pack("{s:s,s:o,s:o,s:o,s:f}", "name", o.spec.variants[v].name, "value",
		                                    num(values[v]), "ciLow", ci ? num(vr->ci_low) : json_null(),
		                                    "ciHigh", ci ? num(vr->ci_high) : json_null(), "exposures", r->set.exposures[v]));
	}
	json_t *hist = json_object_get(o.rec, "history");
	if (!json_is_array(hist)) {
		hist = json_array();
		json_object_set_new(o.rec, "history", hist);
	}
	json_array_append_new(hist, json_pack("{s:s,s:f,s:o}", "time", at, "elapsedSeconds", elapsed, "variants", pv));
	while (json_array_size(hist) > EXPERIMENT_HISTORY_MAX)
		json_array_remove(hist, 0);
	const char *why = json_string_value(json_array_get(json_object_get(rj, "reasons"), 0));
	char *reason = xstrdup(why ? why : decide_verdict_name(res.verdict));
	const char *winner = res.verdict == DECIDE_PROMOTE ? res.variants[res.winner].name : NULL;
	json_decref(rj);
	enum decide_verdict verdict = res.verdict;
	decide_result_release(&res);
	if (verdict == DECIDE_CONTINUE) {
		rc = xop_save(&o, NULL, NULL, NULL, NULL);
	} else if (verdict == DECIDE_PROMOTE && o.spec.manual) {
		json_object_set_new(o.rec, "status", json_string("decided"));
		json_object_set_new(o.rec, "winner", json_string(winner));
		char *m = xasprintf("%s; promotion is manual: `cratis experiment conclude %s` promotes %s", reason, o.t.name, winner);
		json_object_set_new(o.rec, "message", json_string(m));
		xop_note(&o, "decided", winner, "ok", m);
		rc = xop_save(&o, "stage", "decided", winner, m);
		free(m);
		*done = !rc;
	} else {
		if (verdict == DECIDE_PROMOTE)
			json_object_set_new(o.rec, "winner", json_string(winner));
		rc = conclude_with(&o, verdict, winner, reason);
		*done = true;
	}
	free(reason);
	if (rc == CRATIS_EEXISTS)
		runner_reset(r); /* another writer: start again from what it wrote */
	else if (!rc)
		r->rev = o.rev;
	else
		goto out;
out_status:
	if (status && o.rec) {
		experiment_status(r->env->store, &r->t, status);
	}
out:
	xop_release(&o);
	return rc;
}

int experiment_conclude(struct rollout_env *env, const struct experiment_target *t, const char *winner)
{
	struct xop o;
	int rc = xop_load(&o, env, t, true);
	if (rc)
		goto out;
	if (rec_is(o.rec, "concluding")) {
		rc = finish_interrupted(&o);
		goto out;
	}
	if (!rec_is(o.rec, "running") && !rec_is(o.rec, "decided")) {
		rc = error_set(CRATIS_EINVAL, "experiment %s has ended (%s); nothing to conclude", t->name, jstr(o.rec, "status"));
		goto out;
	}
	const char *w = winner ? winner : rec_is(o.rec, "decided") ? jstr(o.rec, "winner") : NULL;
	if (!w) {
		rc = error_set(CRATIS_EINVAL, "experiment %s has no verdict yet (%s); name the variant to promote with --winner (the control, %s, keeps it)",
		               t->name, jstr(o.rec, "verdict") ? jstr(o.rec, "verdict") : "no tick yet", jstr(o.rec, "control"));
		goto out;
	}
	json_t *v = xop_variant(&o, w);
	if (!v) {
		rc = error_set(CRATIS_ENOTFOUND, "experiment %s has no variant '%s'", t->name, w);
		goto out;
	}
	char *why = winner ? xasprintf("concluded by hand: %s", w) : xasprintf("concluded by hand: %s, as decided", w);
	rc = json_is_true(json_object_get(v, "control")) ? xop_finish(&o, "keep", NULL, "concluded", why)
	                                               : xop_finish(&o, "promote", w, "concluded", why);
	free(why);
out:
	xop_release(&o);
	return rc;
}

int experiment_abort(struct rollout_env *env, const struct experiment_target *t)
{
	struct xop o;
	int rc = xop_load(&o, env, t, true);
	if (!rc && ended(o.rec) && !rec_is(o.rec, "decided"))
		rc = error_set(CRATIS_EINVAL, "experiment %s has ended (%s); nothing to abort", t->name, jstr(o.rec, "status"));
	else if (!rc)
		rc = xop_finish(&o, "abort", NULL, "aborted", "aborted by hand");
	xop_release(&o);
	return rc;
}

/* b's array at k (a new reference), or a new empty array. */
static json_t *array_of(json_t *b, const char *k)
{
	json_t *a = json_object_get(b, k);
	return json_is_array(a) ? json_incref(a) : json_array();
}

int experiment_status(struct store *s, const struct experiment_target *t, json_t **out)
{
	*out = NULL;
	char *scope = experiment_scope(t->environment, t->project);
	struct record rec;
	int rc = store_record_get(s, EXPERIMENT_RECORD_KIND, scope, t->name, &rec);
	free(scope);
	if (rc == CRATIS_ENOTFOUND)
		return error_set(rc, "experiment '%s' has not been started in environment '%s' (cratis apply starts it)", t->name, t->environment);
	if (rc)
		return rc;
	json_t *b = json_loads(rec.body, 0, NULL);
	if (!json_is_object(b)) {
		json_decref(b);
		record_release(&rec);
		return error_set(CRATIS_EINVAL, "experiment '%s': the recorded state is not a JSON object", t->name);
	}
	json_t *res = json_object_get(b, "result");
	*out = json_pack("{s:s,s:s,s:s,s:O?,s:O?,s:O?,s:O?,s:O?,s:s,s:O?,s:O,s:o,s:o,s:O?,s:o,s:O?,s:o}", "project", t->project,
	                 "environment", t->environment, "name", t->name, "status", json_object_get(b, "status"), "verdict",
	                 json_object_get(b, "verdict"), "winner", json_object_get(b, "winner"), "control", json_object_get(b, "control"),
	                 "started", json_object_get(b, "started"), "updated", rec.updated ? rec.updated : "", "elapsedSeconds",
	                 json_object_get(b, "elapsedSeconds"), "result", res ? res : json_null(), "history", array_of(b, "history"),
	                 "variants", array_of(b, "variants"), "rollout", json_object_get(b, "rollout"), "reasons", array_of(b, "reasons"),
	                 "message", json_object_get(b, "message"), "stages", array_of(b, "stages"));
	json_decref(b);
	record_release(&rec);
	return *out ? CRATIS_OK : error_set(CRATIS_EINVAL, "experiment '%s': the recorded state is incomplete", t->name);
}
