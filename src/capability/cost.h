/* Cost estimates of capabilities (docs/capabilities.md, "Cost"): each capability plugin's
 * cost_models/<provider>.yaml gives, per kind, cost components (name, unit, a Lua formula for
 * the monthly quantity over the resource's portable config and usage, a price looked up in
 * tables per region and size) with the prices' source and date. Estimates are in integer
 * micro-units (money.h); the JSON follows Infracost's field names. */
#ifndef CRATIS_CAPABILITY_COST_H
#define CRATIS_CAPABILITY_COST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "capability.h"
#include "money.h"
#include "sandbox.h"

/* Hours in a month, as Infracost counts them. */
#define COST_HOURS_PER_MONTH 730

struct cost_component_def;

/* The cost model of one kind on one provider (read from its YAML document). */
struct cost_model {
	const struct cap_kind *kind;
	int pi;                                  /* provider index */
	const struct manifest_doc *doc;          /* cost_models/<provider>.yaml */
	char *path;                              /* "kinds.Cache" (owned) */
	const char *currency, *source, *date;    /* borrowed from doc */
	struct cost_component_def *comps;
	size_t ncomps;
	const json_t *prices;                    /* kinds.K.prices: region -> key -> price or table */
};

/* Every cost model of a catalog, their formulas compiled in one sandbox. */
struct cost_models {
	struct cost_model *v;
	size_t n, alloc;
	struct manifest_set docs;
	struct sandbox *sb;
};

/* Load cost_models/<provider>.yaml of every plugin of c that has one (a missing file: that
 * provider is not priced for the plugin's kinds). File shape: {currency, source, date, kinds:
 * {KIND: {components: [{name, unit, quantity: LUA, price: KEY | {table: KEY, by: LUA}, usage:
 * [KEY...]}], prices: {REGION: {KEY: "0.023" | {SIZE: "0.023"}}}}}}. Each problem is appended
 * to errors at its file:line:col (unknown kind, missing name/unit/quantity/price, a formula
 * that does not compile, a price that is not a decimal of at most 6 places). out is
 * initialised here (release it with cost_models_release, also on error). Returns CRATIS_OK or
 * CRATIS_EPLUGIN (problems appended), CRATIS_ERROR when Lua cannot start. */
int cost_models_load(struct cost_models *out, const struct cap_catalog *c, struct diags *errors);
void cost_models_release(struct cost_models *m);

/* One cost component of one resource, priced. */
struct cost_component {
	char *name, *unit;
	bool usage_based;       /* its quantity comes from the usage file */
	bool quantity_known;    /* false: usage-based and the usage file gives none of it */
	bool price_missing;     /* the price table has no price for the region (and size) */
	int64_t quantity;       /* monthly quantity, micro-units */
	int64_t price;          /* price per unit, micro-units of currency */
	int64_t cost;           /* monthly cost, micro-units (0 when unknown or missing) */
};

struct cost_resource {
	char *id;               /* "Cache/sessions" */
	char *kind;             /* "Cache" */
	bool priced;            /* the kind has a cost model for the provider */
	struct cost_component *comps;
	size_t n;
	int64_t total;          /* monthly, micro-units */
};

/* The estimate of one environment's capabilities on one provider. */
struct cost_estimate {
	char *provider, *region, *currency;
	struct cost_resource *res;   /* in the order given */
	size_t n;
	int64_t total;
	size_t usage_unknown;        /* components without a usage quantity */
	size_t price_missing;        /* components without a price */
	struct strv sources;         /* "source (date)" of each cost model used, sorted, unique */
};

void cost_estimate_release(struct cost_estimate *e);

/* What is priced: a capability resource's id, kind, spec and where its document is. */
struct cost_item {
	const char *id;              /* "Kind/name" */
	const struct cap_kind *kind;
	const json_t *spec;          /* the spec as written or recorded (defaults are applied here) */
	const struct manifest_doc *doc;   /* for locating errors; may be NULL (state) */
};

/* Price items on provider pi in region with usage (an Infracost usage document: {resource_usage:
 * {"Kind/name": {KEY: VALUE}}, resource_type_default_usage: {Kind: {...}}}, or NULL). A
 * component's formula sees config (the spec with the kind's defaults), size (the provider size
 * from plugin.yaml's size map, or nil), usage (the resource's usage: the type default overlaid
 * by the resource's own), region and hours (730). Its quantity (a Lua number) is converted to
 * micro-units once (money_from_double/int); cost = quantity × price rounded half up to a
 * micro-unit; totals are integer sums. A usage-based component whose usage keys are not all
 * given has quantity unknown and cost 0, like Infracost. out is initialised here. Errors
 * (appended to d at the cost model's file:line:col, naming the resource): a formula that fails
 * or returns something other than a number of 0 or more, a size key that is not a string or
 * number. Returns CRATIS_OK or CRATIS_EINVAL. */
int cost_estimate_items(struct cost_estimate *out, const struct cost_models *m, int pi, const char *region,
                        const struct cost_item *items, size_t n, const json_t *usage, struct diags *d);

/* The region an environment uses on provider p: the Environment's spec.region when its
 * spec.provider is p, else p's defaultRegion from the catalog, else "". Borrowed. */
const char *cap_region(const struct cap_catalog *c, const struct model *m, const char *provider);

/* Lock-in warnings (DIAG_WARNING, located at the option) for every capability resource of m
 * that sets spec.providerOptions.<provider>.<option> for provider pi, in resource id order:
 * "Kind/name uses the P-only feature 'X' (help): it ties this resource to P" with the hint
 * "portable alternative: ..." when the plugin names one. The same text render prints. */
void cap_lock_in(struct diags *warnings, const struct cap_catalog *c, const struct model *m, int pi);

/* The lock-in warnings of one resource r of kind k for provider pi (what cap_lock_in and render
 * append). */
void cap_lock_in_resource(struct diags *warnings, const struct cap_kind *k, const struct resource *r, int pi);

/* JSON money: the exact decimal string Infracost writes ("59.1").  New reference. */
json_t *cost_money_json(int64_t v);

/* The estimate as an Infracost-shaped project: {name: provider, metadata: {provider, region,
 * currency, sources}, breakdown: {resources: [{name, resourceType, monthlyCost, costComponents:
 * [{name, unit, monthlyQuantity, price, monthlyCost, usageBased, priceNotFound}]}],
 * totalMonthlyCost}}. monthlyQuantity and monthlyCost are null when the usage is unknown.
 * New reference. */
json_t *cost_estimate_json(const struct cost_estimate *e, const char *project);

#endif
