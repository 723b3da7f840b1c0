/* Strict fields (see schema.h): the core kinds' field tables and the check of a document against
 * its kind's table, with "did you mean" hints. */
#define _GNU_SOURCE
#include "schema.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/util.h"
#include "banned.h"

/* One declared field: borrowed strings (a static table or a handler's copy). */
struct row {
	const char *path, *type, *help;
};

static const struct row envelope[] = {
	{ "apiVersion", "string", "GROUP/VERSION, e.g. cratis/v1" },
	{ "kind", "string", "the kind name, e.g. Environment" },
	{ "metadata.name", "string", "the resource name" },
	{ "metadata.project", "string", "the project this document belongs to" },
	{ "metadata.labels", "object", "free-form key: value pairs" },
	{ "spec", "object", "the kind's fields" },
};

/* Read by cratis itself for every resource (not passed to plugins as their own). */
static const struct row resource_common[] = {
	{ "spec.system", "string", "the name of a System" },
	{ "spec.dependsOn", "array", "Kind/name references applied first" },
};

static const struct row system_rows[] = {
	{ "spec.type", "string", "local, ssh, kubernetes, ..." },
	{ "spec.auth", "object", "references to credentials ({fromEnv}, {fromFile}, {secret}) at any depth" },
};

static const struct row environment_rows[] = {
	{ "spec.systems", "array", "names of System documents" },
	{ "spec.variables", "object", "name: value pairs for ${name}" },
	{ "spec.provider", "string", "aws, gcp or azure: where capabilities render (docs/capabilities.md)" },
	{ "spec.region", "string", "the provider's region for capabilities (default: the provider's defaultRegion)" },
	{ "spec.providerOptions", "object", "PROVIDER: {setting: value}: attributes of the provider block (gcp: {project: ID})" },
};

static const struct row project_rows[] = {
	{ "spec.environments", "array", "names of Environment documents" },
	{ "spec.versioning.model", "string", "gitflow or trunk" },
	{ "spec.versioning.source", "string", "the version source file (pom.xml, package.json, VERSION, ...)" },
	{ "spec.versioning.branches.pattern", "string", "fnmatch(3) pattern of branch names" },
	{ "spec.versioning.branches.form", "string", "stable or snapshot" },
	{ "spec.versioning.branches.tag", "string", "tag template, default v${version}" },
	{ "spec.versioning.branches.artifacts", "string", "immutable or overridable" },
	{ "spec.promotion.variables", "array", "names of variables `cratis promote` carries over" },
	{ "spec.secrets", "object", "NAME: {env: VAR} | {file: PATH} | {command: [argv]}: where ${secret:NAME} comes from" },
};

#define HOOK_ROWS(stage)                                                                     \
	{ "spec.hooks." stage ".run", "argv", "command run in the project directory" },           \
	{ "spec.hooks." stage ".task", "string", "Task/NAME whose apply command runs" },           \
	{ "spec.hooks." stage ".timeoutSeconds", "integer", "seconds before the hook is killed" }, \
	{ "spec.hooks." stage ".retries", "integer", "extra attempts after a failure" }

/* docs/releases.md and src/rollout/rollout.c's validate */
static const struct row rollout_rows[] = {
	{ "spec.strategy", "string", "blueGreen or recreate" },
	{ "spec.activePort", "integer", "public port on 127.0.0.1" },
	{ "spec.previewPort", "integer", "preview port" },
	{ "spec.autoPromotion", "boolean", "promote as soon as the exit tests pass" },
	{ "spec.scaleDownDelaySeconds", "integer", "seconds before the previous release is stopped" },
	{ "spec.template.command", "argv", "the release's process (it listens on $PORT)" },
	{ "spec.template.env", "object", "variables added to its environment" },
	{ "spec.template.workdir", "string", "its working directory" },
	{ "spec.template.health.path", "string", "HTTP path of the health check, default /" },
	{ "spec.template.health.timeoutSeconds", "number", "seconds the health check may take" },
	HOOK_ROWS("beforePreProd"),
	HOOK_ROWS("afterPreProd"),
	HOOK_ROWS("exitTests"),
	HOOK_ROWS("promote"),
	HOOK_ROWS("afterPostProd"),
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
	const char *best = NULL;
	size_t best_d = 3, klen = strlen(key);
	for (size_t i = 0; i < cands->n; i++) {
		const char *c = cands->v[i];
		size_t clen = strlen(c), d = schema_distance(key, c, 2);
		size_t shorter = klen < clen ? klen : clen;
		if (d >= klen && d >= clen)
			d = 3;  /* "a" is 1 away from every one-letter name: no evidence */
		if (d > 2 && shorter >= 3 && !strncasecmp(key, c, shorter))
			d = 2;  /* a prefix of the other: "time" for "timeoutSeconds" */
		if (d < best_d) {
			best_d = d;
			best = c;
		}
	}
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
	} else {
		const struct handler *h = reg ? registry_find(reg, group, kind, version) : NULL;
		if (h && h->has_schema) {
			rows_add(&rs, resource_common, N(resource_common));
			for (size_t i = 0; i < h->nfields; i++) {
				struct row r = { h->fields[i].path, h->fields[i].type, h->fields[i].help };
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
