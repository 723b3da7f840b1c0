/* Strict fields (see schema.h): the core kinds' field tables and the check of a document against
 * its kind's table, with "did you mean" hints. */
#define _GNU_SOURCE
#include "schema.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "util/buf.h"
#include "util/util.h"
#include "banned.h"

/* One declared field: borrowed strings (a static table or a handler's copy). def is the value
 * used when the field is absent, as text ("blueGreen"), or NULL; required: a manifest must
 * carry it. Both are documentation (`cratis explain`); validate ops enforce them. */
struct row {
	const char *path, *type, *help, *def;
	bool required;
};

static const struct row envelope[] = {
	{ "apiVersion", "string", "GROUP/VERSION, e.g. cratis/v1", NULL, true },
	{ "kind", "string", "the kind name, e.g. Environment", NULL, true },
	{ "metadata.name", "string", "the resource name", NULL, true },
	{ "metadata.project", "string", "the project this document belongs to", "the only Project, else default", false },
	{ "metadata.labels", "object", "free-form key: value pairs", NULL, false },
	{ "metadata.environments", "array", "names of the environments a resource is deployed to", "all", false },
	{ "spec", "object", "the kind's fields", NULL, false },
};

/* Read by cratis itself for every resource (not passed to plugins as their own). */
static const struct row resource_common[] = {
	{ "spec.system", "string", "the name of a System", "the only System, if there is one", false },
	{ "spec.dependsOn", "array", "Kind/name references applied first", NULL, false },
	/* fleets (docs/systems.md#fleets) */
	{ "spec.systems", "array", "names of Systems: one copy NAME-SYSTEM per System (a fleet)", NULL, false },
	{ "spec.rolling.batchSize", "integer", "Systems per batch of a fleet; a failing batch stops the next", "all at once", false },
};

static const struct row system_rows[] = {
	{ "spec.type", "string", "local, ssh, kubernetes, ...", NULL, false },
	{ "spec.auth", "object", "references to credentials ({fromEnv}, {fromFile}, {secret}) at any depth", NULL, false },
	{ "spec.agent", "boolean", "pull mode: `cratis agent --system NAME` on the host applies its resources, the server never does (docs/agents.md)", "false", false },
};

static const struct row environment_rows[] = {
	{ "spec.systems", "array", "names of System documents", NULL, false },
	{ "spec.variables", "object", "name: value pairs for ${name}", NULL, false },
	{ "spec.provider", "string", "aws, gcp or azure: where capabilities render (docs/capabilities.md)", NULL, false },
	{ "spec.region", "string", "the provider's region for capabilities", "the provider's defaultRegion", false },
	{ "spec.providerOptions", "object", "PROVIDER: {setting: value}: attributes of the provider block (gcp: {project: ID})", NULL, false },
	{ "spec.namespace", "string", "TEAM/NAMESPACE of `cratis serve` whose quota plans are checked against (docs/server.md)", NULL, false },
};

static const struct row project_rows[] = {
	{ "spec.environments", "array", "names of Environment documents", NULL, false },
	{ "spec.versioning.model", "string", "gitflow or trunk", NULL, false },
	{ "spec.versioning.source", "string", "the version source file (pom.xml, package.json, VERSION, ...)", NULL, false },
	{ "spec.versioning.branches.pattern", "string", "fnmatch(3) pattern of branch names", NULL, false },
	{ "spec.versioning.branches.form", "string", "stable or snapshot", NULL, false },
	{ "spec.versioning.branches.tag", "string", "tag template", "v${version}", false },
	{ "spec.versioning.branches.artifacts", "string", "immutable or overridable", NULL, false },
	{ "spec.includes", "array", "manifest locations loaded with this Project: paths (relative to this file) or git::URL//DIR?ref=REF (docs/locations.md)", NULL, false },
	{ "spec.systems", "array", "locations of the Systems and Environments it deploys onto (the infrastructure repository; docs/locations.md)", NULL, false },
	{ "spec.plugins", "array", "[{name, version: RANGE, source: URL, sha256}]: plugins installed on first use, recorded in .cratis/plugins.lock (docs/plugins.md)", NULL, false },
	{ "spec.state.url", "string", "the state store (sqlite:PATH, postgres://...) when neither --state nor CRATIS_STATE names one; no ${...}", "sqlite:STATE_DIR/state.db", false },
	{ "spec.promotion.variables", "array", "names of variables `cratis promote` carries over", NULL, false },
	{ "spec.secrets", "object", "NAME: {env: VAR} | {file: PATH} | {command: [argv]}: where ${secret:NAME} comes from", NULL, false },
	{ "spec.outputs", "object", "NAME: EXPR or {value, description, sensitive}: shown after apply and by `cratis output`", NULL, false },
	{ "spec.outputs.*.value", "any", "an expression over ${Kind/name.outputs.key} and ${variable}", NULL, false },
	{ "spec.outputs.*.description", "string", "what the output is", NULL, false },
	{ "spec.outputs.*.sensitive", "boolean", "shown as (sensitive)", "false", false },
	/* docs/events.md */
	{ "spec.events.sinks", "array", "where events are delivered: [{name, type, ...}]", NULL, false },
	{ "spec.events.sinks.name", "string", "the sink's name, unique in the project", NULL, true },
	{ "spec.events.sinks.type", "string", "webhook, nats or file", NULL, true },
	{ "spec.events.sinks.url", "string", "webhook: http:// or https:// URL", NULL, false },
	{ "spec.events.sinks.mode", "string", "webhook: binary (ce-* headers) or structured", "binary", false },
	{ "spec.events.sinks.secret", "string", "webhook: Standard Webhooks secret, a ${secret:NAME}", NULL, false },
	{ "spec.events.sinks.natsUrl", "string", "nats: server URL (nats://127.0.0.1:4222)", NULL, false },
	{ "spec.events.sinks.subjectPrefix", "string", "nats: prefix of the subject (prefix + type)", "cratis.", false },
	{ "spec.events.sinks.stream", "string", "nats: the JetStream stream holding the subjects", NULL, false },
	{ "spec.events.sinks.credsFile", "string", "nats: credentials file (by reference)", NULL, false },
	{ "spec.events.sinks.path", "string", "file: the NDJSON file events are appended to", NULL, false },
	{ "spec.events.sinks.types", "array", "type filters: exact, or a prefix ending in '*'", "all", false },
	{ "spec.events.sinks.subjects", "array", "subject filters: exact, or a prefix ending in '*'", "all", false },
	{ "spec.events.sinks.timeout", "string", "per attempt (10s, 500ms)", "10s", false },
	{ "spec.events.sinks.maxAttempts", "integer", "attempts before the event is dead-lettered", "12", false },
	{ "spec.events.sinks.maxAge", "string", "an event older than this is dead-lettered", "24h", false },
	{ "spec.events.sinks.backoff.initial", "string", "first retry wait (doubling, full jitter)", "1s", false },
	{ "spec.events.sinks.backoff.max", "string", "longest retry wait", "5m", false },
};

#define HOOK_ROWS(stage, timeout)                                                                        \
	{ "spec.hooks." stage ".run", "argv", "command run in the project directory", NULL, false },           \
	{ "spec.hooks." stage ".task", "string", "Task/NAME whose apply command runs", NULL, false },           \
	{ "spec.hooks." stage ".timeoutSeconds", "integer", "seconds before the hook is killed", timeout, false }, \
	{ "spec.hooks." stage ".retries", "integer", "extra attempts after a failure", "0", false }

/* docs/releases.md and src/rollout/rollout.c's validate */
static const struct row rollout_rows[] = {
	{ "spec.strategy", "string", "blueGreen or recreate", "blueGreen", false },
	{ "spec.activePort", "integer", "public port on 127.0.0.1", NULL, true },
	{ "spec.previewPort", "integer", "preview port", NULL, true },
	{ "spec.autoPromotion", "boolean", "promote as soon as the exit tests pass", "true", false },
	{ "spec.scaleDownDelaySeconds", "integer", "seconds before the previous release is stopped", "30", false },
	{ "spec.releasePorts", "string", "LO-HI: the range release ports are handed out from", "30000-32767", false },
	{ "spec.template.command", "argv", "the release's process (it listens on $PORT)", NULL, true },
	{ "spec.template.env", "object", "variables added to its environment", NULL, false },
	{ "spec.template.workdir", "string", "its working directory", NULL, false },
	{ "spec.template.health.path", "string", "HTTP path of the health check", "/", false },
	{ "spec.template.health.timeoutSeconds", "number", "seconds the health check may take", NULL, false },
	{ "spec.template.resources.cpu", "any", "CPU each release requests (Kubernetes quantity: 500m, 2), counted against its namespace's quota", NULL, false },
	{ "spec.template.resources.memory", "any", "memory each release requests (256Mi, 1Gi), counted against its namespace's quota", NULL, false },
	HOOK_ROWS("beforePreProd", "60"),
	HOOK_ROWS("afterPreProd", "60"),
	HOOK_ROWS("exitTests", "60"),
	HOOK_ROWS("promote", "60"),
	HOOK_ROWS("afterPostProd", "60"),
};

/* docs/experiments.md and src/experiment/controller_spec.c */
static const struct row experiment_rows[] = {
	{ "spec.rollout", "string", "the Rollout whose live release is the control and through which the winner is promoted", NULL, true },
	{ "spec.variants", "array", "2 to 16 variants: {name, control: true} (the live release) or {name, template, variables}", NULL, true },
	{ "spec.variants.name", "string", "the variant's name: letters, digits, '_' and '-'", NULL, true },
	{ "spec.variants.control", "boolean", "this variant is the Rollout's live release (exactly one)", "false", false },
	{ "spec.variants.template", "object", "a Service template as the Rollout's (command, env, workdir, health)", "the Rollout's template", false },
	{ "spec.variants.template.command", "argv", "the variant's process (it listens on $PORT)", NULL, false },
	{ "spec.variants.template.env", "object", "variables added to its environment", NULL, false },
	{ "spec.variants.template.workdir", "string", "its working directory", NULL, false },
	{ "spec.variants.template.health.path", "string", "HTTP path of the health check", "/", false },
	{ "spec.variants.template.health.timeoutSeconds", "number", "seconds the health check may take", NULL, false },
	{ "spec.variants.variables", "object", "NAME: value pairs added to the variant's environment", NULL, false },
	{ "spec.split.weights", "object", "VARIANT: weight (> 0, relative)", "equal", false },
	{ "spec.split.stickiness", "string", "cookie (a user keeps their variant), header or none", "cookie", false },
	{ "spec.split.cookie", "string", "the user-id cookie, set when absent", "cratis_uid", false },
	{ "spec.split.userHeader", "string", "stickiness header: the header carrying the user id", NULL, false },
	{ "spec.split.pinHeader", "string", "a request carrying it goes to the variant it names (tests, QA)", "X-Cratis-Variant", false },
	{ "spec.objective.metric", "string", "the metric compared (one of spec.metrics)", NULL, true },
	{ "spec.objective.direction", "string", "maximize or minimize", "maximize", false },
	{ "spec.objective.expression", "string", "a composite objective over several metrics (not yet)", NULL, false },
	{ "spec.metrics", "array", "metric definitions {name, kind: ratio|mean, ...} (docs/experiments.md#metrics)", NULL, true },
	{ "spec.metrics.name", "string", "the metric's name", NULL, true },
	{ "spec.metrics.kind", "string", "ratio or mean", NULL, true },
	{ "spec.metrics.exposure", "string", "ratio, access log: path pattern that exposes a user", "*", false },
	{ "spec.metrics.conversion", "string", "ratio, access log: path pattern that converts a user", NULL, false },
	{ "spec.metrics.status", "string", "ratio, access log: the conversion's status class (2xx) or any", "2xx", false },
	{ "spec.metrics.path", "string", "mean, access log: requests counted", "*", false },
	{ "spec.metrics.field", "string", "mean, access log: request_time or a numeric field of the line", "request_time", false },
	{ "spec.metrics.aggregate", "string", "mean, access log: request, user-sum or user-mean", "request", false },
	{ "spec.metrics.reservoir", "integer", "mean per request: raw values kept for a rank test", "0", false },
	{ "spec.metrics.exposures", "string", "ratio, prometheus or command: source of the exposures", NULL, false },
	{ "spec.metrics.conversions", "string", "ratio, prometheus or command: source of the conversions", NULL, false },
	{ "spec.metrics.count", "string", "mean, prometheus or command: source of the count", NULL, false },
	{ "spec.metrics.sum", "string", "mean, prometheus or command: source of the sum", NULL, false },
	{ "spec.metrics.sumsq", "string", "mean, prometheus or command: source of the sum of squares", NULL, false },
	{ "spec.provider.type", "string", "nginx (the dealer's access log), prometheus or command", "nginx", false },
	{ "spec.provider.url", "string", "prometheus: the server's base URL", NULL, false },
	{ "spec.provider.command", "argv", "command: prints {VARIANT: {KEY: number}}", NULL, false },
	{ "spec.provider.timeoutSeconds", "number", "per query or command run", "10 (prometheus), 30 (command)", false },
	{ "spec.guardrails", "array", "metrics that must not get worse: [{metric, direction, threshold, relative}]", NULL, false },
	{ "spec.guardrails.metric", "string", "one of spec.metrics", NULL, true },
	{ "spec.guardrails.direction", "string", "the good direction: minimize or maximize", "minimize", false },
	{ "spec.guardrails.threshold", "number", "largest tolerated worsening (>= 0)", NULL, true },
	{ "spec.guardrails.relative", "boolean", "threshold is a fraction of the control's value", "false", false },
	{ "spec.duration.min", "any", "no decision before (30s, 10m, or seconds)", "0", false },
	{ "spec.duration.max", "any", "decide at the latest then (30m, 2h, or seconds)", NULL, true },
	{ "spec.duration.minSamples", "number", "no decision before every variant has this many", "0", false },
	{ "spec.alpha", "number", "family-wise significance level", "0.05", false },
	{ "spec.power", "number", "power for the planned sample size", "0.8", false },
	{ "spec.minimumDetectableEffect", "number", "smallest relative effect worth detecting (0.1 = 10%)", "0.1", false },
	{ "spec.until", "string", "significance (stop when the answer is known) or max", "significance", false },
	{ "spec.mode", "string", "sequential (always-valid) or fixed", "sequential", false },
	{ "spec.promotion", "string", "automatic (the winner goes live) or manual (`cratis experiment conclude`)", "automatic", false },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct core_table {
	const char *kind;
	const struct row *rows;
	size_t n;
	bool resource;  /* a resource kind: spec.system and spec.dependsOn apply */
} core_tables[] = {
	{ "System", system_rows, N(system_rows), false },
	{ "Environment", environment_rows, N(environment_rows), false },
	{ "Project", project_rows, N(project_rows), false },
	{ "Rollout", rollout_rows, N(rollout_rows), true },
	{ "Experiment", experiment_rows, N(experiment_rows), true },
};

struct rows {
	struct row *v;
	size_t n, alloc;
};

static void rows_add(struct rows *rs, const struct row *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ALLOC_GROW(rs->v, rs->n + 1, rs->alloc);
		rs->v[rs->n++] = v[i];
	}
}

size_t schema_distance(const char *a, const char *b, size_t cap)
{
	size_t la = strlen(a), lb = strlen(b);
	if ((la > lb ? la - lb : lb - la) > cap)
		return cap + 1;
	/* three rows of the optimal string alignment matrix */
	size_t *mem = xcalloc(3 * (lb + 1), sizeof(size_t));
	size_t *prev2 = mem, *prev = mem + lb + 1, *cur = prev + lb + 1;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		size_t best = cur[0];
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
			size_t cost = ca != cb;
			size_t d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (prev[j - 1] + cost < d)
				d = prev[j - 1] + cost;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
			if (d < best)
				best = d;
		}
		if (best > cap) {  /* every later row is at least as far */
			free(mem);
			return cap + 1;
		}
		size_t *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	size_t d = prev[lb];
	free(mem);
	return d > cap ? cap + 1 : d;
}

/* Compare pattern (a dotted row path) with the key path segs[0..n): *exact when it has n
 * segments that all match, *below when it has more and its first n match. */
static void match(const char *pattern, const char *const *segs, size_t n, bool *exact, bool *below)
{
	const char *p = pattern;
	for (size_t i = 0; i < n; i++) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		bool star = len == 1 && *p == '*';
		if (!star && (strlen(segs[i]) != len || strncmp(p, segs[i], len)))
			return;
		if (!dot) {
			if (i + 1 == n)
				*exact = true;
			return;
		}
		p = dot + 1;
	}
	*below = true;
}

/* The literal segment n of the rows under segs[0..n) ("did you mean" candidates), distinct,
 * in table order. */
static void candidates(const struct rows *rs, const char **segs, size_t n, struct strv *out)
{
	for (size_t i = 0; i < rs->n; i++) {
		bool exact = false, below = false;
		match(rs->v[i].path, segs, n, &exact, &below);
		if (!below)
			continue;
		const char *p = rs->v[i].path;
		for (size_t k = 0; k < n; k++)
			p = strchr(p, '.') + 1;
		const char *dot = strchr(p, '.');
		char *name = dot ? xstrndup(p, (size_t)(dot - p)) : xstrdup(p);
		if (strcmp(name, "*") && !strv_has(out, name))
			strv_push(out, name);
		free(name);
	}
}

/* Cut b back to its first n bytes. */
static void buf_cut(struct buf *b, size_t n)
{
	b->len = n;
	b->ptr[n] = '\0';
}

struct walk {
	struct diags *errors;
	const struct manifest_doc *doc;
	const struct rows *rows;
	const char *what;         /* "Service (service/v1)" for messages */
	size_t found;
	const char *segs[64];     /* the key path of the mapping being walked */
};

static void add_hint(struct diag *dg, const char *key, const struct strv *cands, const char *where)
{
	const char *best = model_suggest(key, (const char *const *)cands->v, cands->n);
	if (best) {
		diag_hint(dg, "did you mean '%s'?", best);
		return;
	}
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < cands->n; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", cands->v[i]);
	diag_hint(dg, "the fields of %s are: %s", where, b.len ? b.ptr : "none");
	buf_release(&b);
}

static void walk_value(struct walk *w, json_t *v, size_t n, struct buf *loc);

/* Check the keys of object o at key path w->segs[0..n); loc is its located path ("spec.a[0]"). */
static void walk_object(struct walk *w, json_t *o, size_t n, struct buf *loc)
{
	if (n >= N(w->segs) - 1)
		return;
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		w->segs[n] = k;
		bool exact = false, below = false;
		for (size_t i = 0; i < w->rows->n && !below; i++)
			match(w->rows->v[i].path, w->segs, n + 1, &exact, &below);
		size_t mark = loc->len;
		buf_addf(loc, "%s%s", mark ? "." : "", k);
		if (!exact && !below) {
			struct strv cands = STRV_INIT;
			candidates(w->rows, w->segs, n, &cands);
			struct diag *dg = manifest_error(w->errors, w->doc, loc->ptr, "unknown field '%s' of %s", k, w->what);
			char *where = n ? xstrndup(loc->ptr, mark) : xstrdup(w->what);
			add_hint(dg, k, &cands, where);
			free(where);
			strv_release(&cands);
			w->found++;
		} else if (below) {
			walk_value(w, v, n + 1, loc);
		}
		buf_cut(loc, mark);
	}
}

static void walk_value(struct walk *w, json_t *v, size_t n, struct buf *loc)
{
	if (json_is_object(v)) {
		walk_object(w, v, n, loc);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item) {
			size_t mark = loc->len;
			buf_addf(loc, "[%zu]", i);
			if (json_is_object(item))
				walk_object(w, item, n, loc);
			buf_cut(loc, mark);
		}
	}
}

size_t schema_check(struct diags *errors, const struct manifest_doc *doc, const struct registry *reg)
{
	json_t *root = doc->root;
	const char *api = json_string_value(json_object_get(root, "apiVersion"));
	const char *kind = json_string_value(json_object_get(root, "kind"));
	if (!json_is_object(root) || !api || !kind)
		return 0;
	const char *slash = strchr(api, '/');
	if (!slash)
		return 0;
	char *group = xstrndup(api, (size_t)(slash - api));
	const char *version = slash + 1;
	struct rows rs = { 0 };
	rows_add(&rs, envelope, N(envelope));
	if (!strcmp(group, "cratis")) {
		for (size_t i = 0; i < N(core_tables); i++) {
			if (strcmp(core_tables[i].kind, kind))
				continue;
			rows_add(&rs, core_tables[i].rows, core_tables[i].n);
			if (core_tables[i].resource)
				rows_add(&rs, resource_common, N(resource_common));
		}
		/* a System of a type a plugin implements (kind System of the group named by spec.type)
		 * also takes the fields that plugin declares */
		const char *type = json_string_value(json_object_get(json_object_get(root, "spec"), "type"));
		const struct handler *sh = !strcmp(kind, "System") && type && reg ? registry_find(reg, type, "System", NULL) : NULL;
		for (size_t i = 0; sh && sh->has_schema && i < sh->nfields; i++) {
			struct row r = { sh->fields[i].path, sh->fields[i].type, sh->fields[i].help, sh->fields[i].def,
			                 sh->fields[i].required };
			rows_add(&rs, &r, 1);
		}
	} else {
		const struct handler *h = reg ? registry_find(reg, group, kind, version) : NULL;
		if (h && h->has_schema) {
			rows_add(&rs, resource_common, N(resource_common));
			for (size_t i = 0; i < h->nfields; i++) {
				struct row r = { h->fields[i].path, h->fields[i].type, h->fields[i].help, h->fields[i].def,
				                 h->fields[i].required };
				rows_add(&rs, &r, 1);
			}
		}
	}
	char *what = xasprintf("%s (%s)", kind, api);
	struct walk w = { .errors = errors, .doc = doc, .rows = &rs, .what = what };
	struct buf loc = BUF_INIT;
	walk_object(&w, root, 0, &loc);
	buf_release(&loc);
	free(what);
	free(rs.v);
	free(group);
	return w.found;
}

/* ---- cratis explain ---- */

/* The core kinds that are not handled through the registry (System, Environment, Project):
 * Rollout is registered by the core as a handler too, with its table above. */
static const struct core_table *core_table(const char *kind)
{
	for (size_t i = 0; i < N(core_tables); i++)
		if (!strcmp(core_tables[i].kind, kind))
			return &core_tables[i];
	return NULL;
}

static json_t *core_plugin_json(void)
{
#ifdef CRATIS_CORE_VERSION
	const char *v = CRATIS_CORE_VERSION;
#else
	const char *v = "";
#endif
	return json_pack("{s:s,s:s,s:s,s:s}", "name", "cratis", "version", v, "form", "core", "path", "(built in)");
}

static json_t *plugin_json(const struct plugin *p)
{
	if (!p || p->form == PLUGIN_CORE)
		return core_plugin_json();
	return json_pack("{s:s,s:s,s:s,s:s}", "name", p->name ? p->name : "", "version", p->version ? p->version : "",
	                 "form", p->form == PLUGIN_SO ? "so" : "exec", "path", p->path ? p->path : "");
}

/* A kind as explain sees it: its group, versions, the handler (NULL for System, Environment and
 * Project) and its rows (envelope first). */
struct kind_view {
	const char *group, *kind;
	struct strv versions;
	const struct handler *h;
	bool schema;
	struct rows rows;
};

static void kind_view_release(struct kind_view *k)
{
	strv_release(&k->versions);
	free(k->rows.v);
}

static void kind_rows(struct kind_view *k)
{
	rows_add(&k->rows, envelope, N(envelope));
	const struct core_table *t = !strcmp(k->group, CORE_GROUP) ? core_table(k->kind) : NULL;
	if (t) {
		k->schema = true;
		rows_add(&k->rows, t->rows, t->n);
		if (t->resource)
			rows_add(&k->rows, resource_common, N(resource_common));
		return;
	}
	k->schema = k->h && k->h->has_schema;
	if (!k->schema)
		return;
	rows_add(&k->rows, resource_common, N(resource_common));
	for (size_t i = 0; i < k->h->nfields; i++) {
		const struct handler_field *f = &k->h->fields[i];
		struct row r = { f->path, f->type, f->help, f->def, f->required };
		rows_add(&k->rows, &r, 1);
	}
}

/* Every kind: the core ones, then each group/kind of reg (versions merged) in registration
 * order. */
static size_t kind_views(struct kind_view **out, const struct registry *reg)
{
	struct kind_view *v = NULL;
	size_t n = 0, alloc = 0;
	static const char *const core[] = { "System", "Environment", "Project" };
	for (size_t i = 0; i < N(core); i++) {
		ALLOC_GROW(v, n + 1, alloc);
		v[n] = (struct kind_view){ .group = CORE_GROUP, .kind = core[i] };
		strv_push(&v[n].versions, "v1");
		n++;
	}
	for (size_t i = 0; reg && i < reg->nhandlers; i++) {
		const struct handler *h = reg->handlers[i];
		struct kind_view *k = NULL;
		for (size_t j = 0; j < n && !k; j++)
			if (!strcmp(v[j].group, h->group) && !strcmp(v[j].kind, h->kind))
				k = &v[j];
		if (!k) {
			ALLOC_GROW(v, n + 1, alloc);
			k = &v[n++];
			*k = (struct kind_view){ .group = h->group, .kind = h->kind, .h = h };
		}
		for (size_t j = 0; j < h->versions.n; j++)
			if (!strv_has(&k->versions, h->versions.v[j]))
				strv_push(&k->versions, h->versions.v[j]);
	}
	for (size_t i = 0; i < n; i++)
		kind_rows(&v[i]);
	*out = v;
	return n;
}

static json_t *versions_json(const struct kind_view *k)
{
	json_t *a = json_array();
	for (size_t i = 0; i < k->versions.n; i++)
		json_array_append_new(a, json_sprintf("%s/%s", k->group, k->versions.v[i]));
	return a;
}

static json_t *kind_json(const struct kind_view *k)
{
	return json_pack("{s:s,s:s,s:o,s:o,s:b}", "kind", k->kind, "group", k->group, "apiVersions", versions_json(k),
	                 "plugin", k->h ? plugin_json(k->h->plugin) : core_plugin_json(), "schema", k->schema);
}

json_t *schema_kinds(const struct registry *reg)
{
	struct kind_view *v;
	size_t n = kind_views(&v, reg);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(a, kind_json(&v[i]));
		kind_view_release(&v[i]);
	}
	free(v);
	return a;
}

static json_t *field_json(const char *path, const char *type, const char *help, const char *def, bool required)
{
	json_t *f = json_pack("{s:s,s:s,s:b}", "path", path, "type", type ? type : "any", "required", required);
	json_object_set_new(f, "help", help ? json_string(help) : json_null());
	json_object_set_new(f, "default", def ? json_string(def) : json_null());
	return f;
}

/* Split a dotted path into at most cap segments in *segs (pointers into the copy *store, which
 * the caller frees). Returns the count, or 0 for an empty segment or too many. */
static size_t split_path(const char *path, char **store, const char **segs, size_t cap)
{
	*store = xstrdup(path);
	size_t n = 0;
	char *p = *store;
	for (;;) {
		char *dot = strchr(p, '.');
		if (dot)
			*dot = '\0';
		if (!*p || n == cap)
			return 0;
		segs[n++] = p;
		if (!dot)
			return n;
		p = dot + 1;
	}
}

/* Look the dotted field up in rows: *exact the row declaring it (NULL when only implied, as the
 * parent of declared rows), true when it exists either way. */
static bool find_field(const struct rows *rs, const char *field, const struct row **exact)
{
	char *store;
	const char *segs[64];
	size_t n = split_path(field, &store, segs, N(segs));
	bool found = false;
	*exact = NULL;
	for (size_t i = 0; n && i < rs->n; i++) {
		bool e = false, below = false;
		match(rs->v[i].path, segs, n, &e, &below);
		if (e && !*exact)
			*exact = &rs->v[i];
		found |= e || below;
	}
	free(store);
	return found;
}

/* The hint for an unknown field: the closest known path at the deepest level that exists. */
static void field_hint(struct diag *dg, const struct rows *rs, const char *field, const char *what)
{
	char *store;
	const char *segs[64];
	size_t n = split_path(field, &store, segs, N(segs));
	size_t depth = 0;
	/* the longest prefix of field that exists */
	for (size_t k = n; k > 0 && !depth; k--) {
		for (size_t i = 0; i < rs->n; i++) {
			bool e = false, below = false;
			match(rs->v[i].path, segs, k - 1, &e, &below);
			if (below || k == 1) {
				depth = k;
				break;
			}
		}
	}
	if (!depth) {
		free(store);
		return;
	}
	struct strv cands = STRV_INIT;
	candidates(rs, segs, depth - 1, &cands);
	struct buf prefix = BUF_INIT;
	for (size_t k = 0; k + 1 < depth; k++)
		buf_addf(&prefix, "%s.", segs[k]);
	const char *best = model_suggest(segs[depth - 1], (const char *const *)cands.v, cands.n);
	if (best) {
		diag_hint(dg, "did you mean '%s%s'?", prefix.len ? prefix.ptr : "", best);
	} else {
		struct buf b = BUF_INIT;
		for (size_t i = 0; i < cands.n; i++)
			buf_addf(&b, "%s%s%s", i ? ", " : "", prefix.len ? prefix.ptr : "", cands.v[i]);
		diag_hint(dg, "the fields of %s%s%.*s are: %s", what, prefix.len ? " at " : "",
		          (int)(prefix.len ? prefix.len - 1 : 0), prefix.len ? prefix.ptr : "", b.len ? b.ptr : "none");
		buf_release(&b);
	}
	buf_release(&prefix);
	strv_release(&cands);
	free(store);
}

/* The kind named (case-insensitively) by name among v[0..n), or NULL with a hint in dg. name may
 * carry its group, "postgres/System", to pick one of two kinds of the same name. */
static const struct kind_view *pick_kind(const struct kind_view *v, size_t n, const char *name)
{
	const char *slash = strchr(name, '/');
	if (slash) {
		for (size_t i = 0; i < n; i++)
			if (strlen(v[i].group) == (size_t)(slash - name) && !strncmp(v[i].group, name, (size_t)(slash - name)) &&
			    !strcasecmp(v[i].kind, slash + 1))
				return &v[i];
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].kind, name))
			return &v[i];
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(v[i].kind, name))
			return &v[i];
	return NULL;
}

int schema_explain(json_t **out, const struct registry *reg, const char *query, struct diags *d)
{
	*out = NULL;
	struct kind_view *v;
	size_t n = kind_views(&v, reg);
	int rc = CRATIS_OK;
	const char *dot = strchr(strchr(query, '/') ? strchr(query, '/') : query, '.');
	char *kname = dot ? xstrndup(query, (size_t)(dot - query)) : xstrdup(query);
	const char *field = dot ? dot + 1 : NULL;
	const struct kind_view *k = pick_kind(v, n, kname);
	if (!k) {
		struct diag *dg = diags_errorf(d, CRATIS_ENOTFOUND, "unknown kind '%s'", kname);
		struct buf all = BUF_INIT;
		const char **names = xcalloc(n + 1, sizeof(*names));
		for (size_t i = 0; i < n; i++) {
			names[i] = v[i].kind;
			buf_addf(&all, "%s%s", i ? ", " : "", v[i].kind);
		}
		const char *best = model_suggest(kname, names, n);
		free(names);
		if (best)
			diag_hint(dg, "did you mean '%s'?", best);
		else
			diag_hint(dg, "known kinds: %s (`cratis explain` lists them; plugins add more)", all.ptr);
		buf_release(&all);
		rc = CRATIS_ENOTFOUND;
		goto out_free;
	}
	char *what = xasprintf("%s (%s)", k->kind, k->group);
	json_t *doc = kind_json(k);
	const struct row *exact = NULL;
	char *path = field ? xstrdup(field) : NULL;
	if (path && !find_field(&k->rows, path, &exact)) {
		/* "Service.command" for "Service.spec.command", as kubectl users type it */
		char *spec = xasprintf("spec.%s", path);
		if (find_field(&k->rows, spec, &exact)) {
			free(path);
			path = spec;
		} else {
			free(spec);
			struct diag *dg;
			if (!k->schema)
				dg = diags_errorf(d, CRATIS_ENOTFOUND, "%s declares no fields: plugin '%s' does not list them, so its spec is not checked and cannot be explained",
				                  what, k->h && k->h->plugin ? k->h->plugin->name : "?");
			else
				dg = diags_errorf(d, CRATIS_ENOTFOUND, "unknown field '%s' of %s", field, what);
			if (k->schema)
				field_hint(dg, &k->rows, path, what);
			json_decref(doc);
			free(path);
			free(what);
			rc = CRATIS_ENOTFOUND;
			goto out_free;
		}
	}
	if (path) {
		json_object_set_new(doc, "field", exact ? field_json(path, exact->type, exact->help, exact->def, exact->required)
		                                       : field_json(path, "object", NULL, NULL, false));
	} else {
		json_object_set_new(doc, "field", json_null());
	}
	/* the rows below the field (all of them for the kind) */
	json_t *fields = json_array();
	char *store = NULL;
	const char *segs[64];
	size_t ns = path ? split_path(path, &store, segs, N(segs)) : 0;
	for (size_t i = 0; i < k->rows.n; i++) {
		const struct row *r = &k->rows.v[i];
		bool e = false, below = !path;
		if (path)
			match(r->path, segs, ns, &e, &below);
		if (below)
			json_array_append_new(fields, field_json(r->path, r->type, r->help, r->def, r->required));
	}
	free(store);
	json_object_set_new(doc, "fields", fields);
	/* other groups serving a kind of the same name */
	json_t *others = json_array();
	for (size_t i = 0; i < n; i++)
		if (&v[i] != k && !strcasecmp(v[i].kind, k->kind))
			json_array_append_new(others, versions_json(&v[i]));
	json_object_set_new(doc, "alsoServedBy", others);
	*out = doc;
	free(path);
	free(what);
out_free:
	free(kname);
	for (size_t i = 0; i < n; i++)
		kind_view_release(&v[i]);
	free(v);
	return rc;
}
