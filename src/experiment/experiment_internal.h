/* Experiments, inside src/experiment: the parsed spec, one operation on one experiment and the
 * helpers the handler (controller.c), the decision loop (controller_loop.c) and the spec parser
 * (controller_spec.c) share. Not for use outside src/experiment (the interface is experiment.h). */
#ifndef CRATIS_EXPERIMENT_INTERNAL_H
#define CRATIS_EXPERIMENT_INTERNAL_H

#include "experiment/decide.h"
#include "experiment/experiment.h"
#include "experiment/metrics.h"
#include "rollout/rollout_internal.h"
#include "util/diag.h"

enum xp_provider { XP_NGINX = 0, XP_PROMETHEUS = 1, XP_COMMAND = 2 };

/* One variant of the spec. Strings borrowed from the spec JSON. */
struct xp_variant {
	const char *name;
	bool control;
	json_t *tmpl;                /* the Service template it runs (new reference; NULL for the control) */
	double weight;
};

/* A parsed Experiment spec (xp_spec_parse). JSON and strings borrowed from the spec it was
 * parsed from, except where said. */
struct xp_spec {
	const char *rollout;
	size_t n_variants;
	struct xp_variant variants[DECIDE_MAX_VARIANTS];
	size_t control;
	const char *stickiness, *cookie, *pin_header, *user_header;
	/* metrics: the set's definitions (objective first, then each guardrail's metric once) */
	size_t n_defs;
	json_t *defs[METRICS_MAX_METRICS];       /* borrowed definitions */
	size_t objective_metric;                 /* index into defs (a single-metric objective) */
	const char *expression;                  /* a composite objective (objective.h) over every
	                                            metric of defs, or NULL */
	size_t guardrail_metric[DECIDE_MAX_GUARDRAILS];
	enum xp_provider provider;
	const char *prom_url;
	json_t *command;                         /* argv array (borrowed) */
	int provider_timeout_ms;
	struct decide_config cfg;
	struct decide_guardrail guardrails[DECIDE_MAX_GUARDRAILS];
	bool manual;                             /* promotion: manual */
	char hash[17];                           /* identity of the spec (16 hex digits) */
};

/* Parse and check spec (the Experiment's spec JSON) into *out (zeroed first; release with
 * xp_spec_release, also after an error). Every problem is appended to d as an error naming the
 * field ("spec.variants[1].template", "spec.metrics[0].kind"). Returns CRATIS_OK or
 * CRATIS_EINVAL. */
int xp_spec_parse(struct xp_spec *out, json_t *spec, struct diags *d);
void xp_spec_release(struct xp_spec *s);
/* The metric definitions of s, parsed into defs[0..s->n_defs) (owned by the caller: move them
 * into a metric set or metric_def_release each). CRATIS_OK or CRATIS_EINVAL (last error). */
int xp_spec_defs(const struct xp_spec *s, struct metric_def *defs);

/* One operation on one experiment: the spec, the Rollout it runs on (its releases and router)
 * and the record. */
struct xop {
	struct rollout_env *env;
	struct experiment_target t;
	char *scope;                 /* "ENV/PROJECT" */
	json_t *spec_json;
	struct xp_spec spec;
	struct rop ro;               /* the Rollout: spec, releases, statedir */
	char *ro_statedir;
	bool ro_loaded;
	json_t *rec;                 /* the record body (NULL: none) */
	int64_t rev;                 /* its revision (0: none) */
};

/* Load o for t: parse the spec, read the Rollout's recorded spec and releases and the record.
 * need_record: CRATIS_ENOTFOUND when there is no record. Returns CRATIS_OK, CRATIS_EINVAL,
 * CRATIS_ENOTFOUND, CRATIS_EIO (last error set). xop_release frees (also after a failure). */
int xop_load(struct xop *o, struct rollout_env *env, const struct experiment_target *t, bool need_record);
void xop_release(struct xop *o);
/* Re-read the Rollout's releases (after another writer). CRATIS_OK or CRATIS_EIO. */
int xop_reload_releases(struct xop *o);

/* Write o->rec with compare-and-set on o->rev (0: insert), with an event of type
 * dev.cratis.experiment.WHAT (NULL: none) whose data is {experiment, rollout, status, stage?,
 * variant?, verdict?, winner?, message?}. On success o->rev is the new revision. Returns
 * CRATIS_OK, CRATIS_EEXISTS (someone else wrote), CRATIS_EIO. */
int xop_save(struct xop *o, const char *what, const char *stage, const char *variant, const char *message);
/* Append {stage, variant, result, output, at} to the record's stage log and emit it to the
 * observer. */
void xop_note(struct xop *o, const char *stage, const char *variant, const char *result, const char *output);

/* The record's variant entry called name (borrowed), or NULL. */
json_t *xop_variant(struct xop *o, const char *name);
/* The release of the record's variant entry v (in o->ro.rels), or NULL. */
struct release *xop_release_of(struct xop *o, json_t *v);

/* Point the Rollout's Route: the split over the record's variants (split true), or back to the
 * Rollout's active release alone. */
int xop_route_split(struct xop *o);
int xop_route_single(struct xop *o);
/* Whether the Rollout's active release is no longer the control's release recorded at the
 * start (the Rollout released meanwhile); *why (heap) says so. */
bool xop_control_moved(struct xop *o, char **why);
/* Start again, through the Service handler (its health check), every variant release whose
 * process is gone or does not own its port. Returns CRATIS_OK, or the Service's status when one
 * cannot be started (the last error names the variant). */
int xop_heal_variants(struct xop *o);
/* Stop the process of every variant release but keep (may be NULL): status retired, recorded. */
void xop_stop_variants(struct xop *o, const struct release *keep, const char *why);

/* Carry out the end of an experiment: action "promote" (winner: the variant), "keep" or
 * "abort". Writes status concluding first (a run killed in the middle is finished by the next
 * tick), then switches or routes back, stops variants, and writes the final status (concluded,
 * stopped or aborted) with its event. Returns CRATIS_OK or the failure (the record then says
 * why; the control keeps serving). */
int xop_finish(struct xop *o, const char *action, const char *winner, const char *final_status, const char *why);

/* Base64 (RFC 4648) of data, heap; and back (NULL for bad input, *len set). */
char *xp_b64_encode(const void *data, size_t len);
void *xp_b64_decode(const char *text, size_t *len);

#endif
