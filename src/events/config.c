/* Sinks declared in manifests: Project.spec.events.sinks into struct sink_config (dispatch.h).
 * The field table (strictness, unknown fields) is in src/model/schema.c; here: values. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "events/dispatch.h"
#include "manifest/manifest.h"
#include "util/diag.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

int64_t events_parse_duration(const char *t)
{
	if (!t || !*t)
		return -1;
	char *end;
	double v = strtod(t, &end);
	if (end == t)
		return -1;
	double mult = !strcmp(end, "ms") ? 1 : (!strcmp(end, "s") || !*end) ? 1000 : !strcmp(end, "m") ? 60000
	              : !strcmp(end, "h") ? 3600000 : -1;
	return mult < 0 ? -1 : events_duration_ms(v * mult);
}

int64_t events_duration_ms(double ms)
{
	/* NaN fails both comparisons; the bound keeps the conversion to int64_t defined */
	if (!(ms >= 0 && ms <= EVENTS_DURATION_MAX_MS))
		return -1;
	return (int64_t)ms;
}

bool events_secret_name(const char *ref, char **name)
{
	size_t n = ref ? strlen(ref) : 0;
	if (n < 11 || strncmp(ref, "${secret:", 9) || ref[n - 1] != '}' || memchr(ref + 9, '}', n - 10))
		return false;
	if (name)
		*name = xstrndup(ref + 9, n - 10);
	return true;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A duration field (string or number of seconds) in ms, def when absent; -2 (error added) when bad. */
static int64_t dur(json_t *o, const char *k, int64_t def, const struct manifest_doc *doc, const char *loc, struct diags *e)
{
	json_t *v = json_object_get(o, k);
	if (!v)
		return def;
	int64_t ms = json_is_number(v) ? events_duration_ms(json_number_value(v) * 1000) : events_parse_duration(json_string_value(v));
	if (ms < 0) {
		char *f = xasprintf("%s.%s", loc, k);
		manifest_error(e, doc, f, "expected a duration such as \"10s\", \"500ms\", \"5m\" or \"24h\" (at most 10 years)");
		free(f);
		return -2;
	}
	return ms;
}

static void strings(json_t *o, const char *k, char ***out, size_t *n, const struct manifest_doc *doc, const char *loc,
                    struct diags *e, bool *bad)
{
	json_t *a = json_object_get(o, k);
	if (!a)
		return;
	size_t i;
	json_t *v;
	if (!json_is_array(a)) {
		char *f = xasprintf("%s.%s", loc, k);
		manifest_error(e, doc, f, "expected a sequence of strings (exact names, or prefixes ending in '*')");
		free(f);
		*bad = true;
		return;
	}
	*out = xcalloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			char *f = xasprintf("%s.%s[%zu]", loc, k, i);
			manifest_error(e, doc, f, "expected a string");
			free(f);
			*bad = true;
			continue;
		}
		(*out)[(*n)++] = xstrdup(json_string_value(v));
	}
}

int events_sinks_parse(const struct manifest_doc *doc, const void *root_json, struct sink_config **out, size_t *n,
                       struct diags *errors)
{
	*out = NULL;
	*n = 0;
	json_t *root = (json_t *)root_json;
	json_t *sinks = json_object_get(json_object_get(json_object_get(root, "spec"), "events"), "sinks");
	if (!sinks)
		return CRATIS_OK;
	if (!json_is_array(sinks)) {
		manifest_error(errors, doc, "spec.events.sinks", "expected a sequence of sinks ({name, type, ...})");
		return CRATIS_EINVAL;
	}
	bool bad = false;
	struct sink_config *v = xcalloc(json_array_size(sinks) + 1, sizeof(*v));
	size_t i;
	json_t *o;
	json_array_foreach(sinks, i, o) {
		char loc[64];
		snprintf(loc, sizeof(loc), "spec.events.sinks[%zu]", i);
		struct sink_config *c = &v[(*n)++];
		const char *name = str(o, "name"), *type = str(o, "type");
		if (!json_is_object(o) || !name || !*name) {
			manifest_error(errors, doc, loc, "a sink needs a name (unique in the project)");
			bad = true;
			continue;
		}
		for (size_t k = 0; k + 1 < *n; k++)
			if (v[k].name && !strcmp(v[k].name, name)) {
				char *f = xasprintf("%s.name", loc);
				manifest_error(errors, doc, f, "sink '%s' is declared twice", name);
				free(f);
				bad = true;
			}
		c->name = xstrdup(name);
		if (!type || (strcmp(type, "webhook") && strcmp(type, "nats") && strcmp(type, "file"))) {
			char *f = xasprintf("%s.type", loc);
			manifest_error(errors, doc, f, "expected webhook, nats or file");
			free(f);
			bad = true;
			continue;
		}
		c->kind = !strcmp(type, "webhook") ? SINK_WEBHOOK : !strcmp(type, "nats") ? SINK_NATS : SINK_FILE;
		const char *mode = str(o, "mode");
		if (mode && strcmp(mode, "binary") && strcmp(mode, "structured")) {
			char *f = xasprintf("%s.mode", loc);
			manifest_error(errors, doc, f, "expected binary or structured");
			free(f);
			bad = true;
		}
		c->structured = mode && !strcmp(mode, "structured");
#define DUP(field, key) c->field = str(o, key) ? xstrdup(str(o, key)) : NULL
		DUP(url, "url");
		DUP(nats_url, "natsUrl");
		DUP(subject_prefix, "subjectPrefix");
		DUP(stream, "stream");
		DUP(creds_file, "credsFile");
		DUP(path, "path");
#undef DUP
		const char *need = c->kind == SINK_WEBHOOK && !c->url ? "url" : c->kind == SINK_NATS && !c->nats_url ? "natsUrl"
		                   : c->kind == SINK_FILE && !c->path ? "path" : NULL;
		if (need) {
			manifest_error(errors, doc, loc, "a %s sink needs %s", type, need);
			bad = true;
		}
		const char *secret = str(o, "secret");
		if (json_object_get(o, "secret") && (!secret || !events_secret_name(secret, NULL))) {
			char *f = xasprintf("%s.secret", loc);
			manifest_error(errors, doc, f, "expected a reference \"${secret:NAME}\" to a secret of spec.secrets, never the key itself");
			free(f);
			bad = true;
		}
		if (!c->subject_prefix && c->kind == SINK_NATS)
			c->subject_prefix = xstrdup("cratis.");
		strings(o, "types", &c->types, &c->ntypes, doc, loc, errors, &bad);
		strings(o, "subjects", &c->subjects, &c->nsubjects, doc, loc, errors, &bad);
		int64_t t = dur(o, "timeout", 10000, doc, loc, errors);
		c->timeout_ms = t > 0 ? (int)t : 10000;
		json_t *ma = json_object_get(o, "maxAttempts");
		c->max_attempts = ma ? (int)json_integer_value(ma) : 12;
		if (ma && (!json_is_integer(ma) || c->max_attempts < 1)) {
			char *f = xasprintf("%s.maxAttempts", loc);
			manifest_error(errors, doc, f, "expected an integer of at least 1");
			free(f);
			bad = true;
		}
		c->max_age_ms = dur(o, "maxAge", 24 * 3600000LL, doc, loc, errors);
		json_t *bo = json_object_get(o, "backoff");
		char *bl = xasprintf("%s.backoff", loc);
		c->backoff_initial_ms = dur(bo, "initial", 1000, doc, bl, errors);
		c->backoff_max_ms = dur(bo, "max", 300000, doc, bl, errors);
		free(bl);
		if (t == -2 || c->max_age_ms == -2 || c->backoff_initial_ms == -2 || c->backoff_max_ms == -2)
			bad = true;
	}
	if (bad) {
		for (size_t k = 0; k < *n; k++)
			sink_config_free(&v[k]);
		free(v);
		*n = 0;
		return CRATIS_EINVAL;
	}
	*out = v;
	return CRATIS_OK;
}
