/* Helpers shared by the built-in plugins for reading a JSON spec and reporting field errors.
 * Header-only; uses only the public plugin ABI and jansson. */
#ifndef CRATIS_PLUGIN_SPEC_H
#define CRATIS_PLUGIN_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cratis/plugin.h"

/* Parse the request's spec (or the "spec" of prior when which is 1). NULL when absent. */
static inline json_t *spec_parse(const struct cratis_request *req, int which)
{
	if (which == 0)
		return req->spec ? json_loads(req->spec, 0, NULL) : NULL;
	json_t *p = req->prior ? json_loads(req->prior, 0, NULL) : NULL;
	json_t *s = p ? json_incref(json_object_get(p, "spec")) : NULL;
	json_decref(p);
	return s;
}

/* String field or def. */
static inline const char *spec_str(json_t *spec, const char *key, const char *def)
{
	json_t *v = json_object_get(spec, key);
	return json_is_string(v) ? json_string_value(v) : def;
}

/* Build a NULL-terminated argv from a JSON array of scalars (strings, integers, booleans) into a heap
 * array of borrowed strings (numbers are formatted into heap strings listed in *owned). For a
 * string value with shell true, argv is {"sh","-c",value}. Returns NULL when v is unusable. */
static inline const char **spec_argv(json_t *v, bool shell, char ***owned)
{
	*owned = NULL;
	if (shell && json_is_string(v)) {
		const char **a = calloc(4, sizeof(char *));
		a[0] = "/bin/sh";
		a[1] = "-c";
		a[2] = json_string_value(v);
		return a;
	}
	if (!json_is_array(v) || json_array_size(v) == 0)
		return NULL;
	size_t n = json_array_size(v);
	const char **a = calloc(n + 1, sizeof(char *));
	char **o = calloc(n + 1, sizeof(char *));
	size_t no = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_array_get(v, i);
		if (json_is_string(x)) {
			a[i] = json_string_value(x);
		} else if (json_is_boolean(x)) {
			/* YAML reads a bare `true` as a boolean; as an argument it is the word */
			a[i] = json_is_true(x) ? "true" : "false";
		} else if (json_is_integer(x)) {
			char tmp[32];
			snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(x));
			a[i] = o[no++] = strdup(tmp);
		} else {
			for (size_t k = 0; k < no; k++)
				free(o[k]);
			free(o);
			free(a);
			return NULL;
		}
	}
	*owned = o;
	return a;
}

static inline void spec_argv_free(const char **argv, char **owned)
{
	for (size_t i = 0; owned && owned[i]; i++)
		free(owned[i]);
	free(owned);
	free(argv);
}

/* NULL-terminated "K=V" list from a JSON object of scalars; caller frees with spec_env_free. */
static inline char **spec_env(json_t *env)
{
	size_t n = json_is_object(env) ? json_object_size(env) : 0;
	char **e = calloc(n + 1, sizeof(char *));
	const char *k;
	json_t *v;
	size_t i = 0;
	if (n)
		json_object_foreach(env, k, v) {
			char *val = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
			size_t len = strlen(k) + strlen(val) + 2;
			e[i] = malloc(len);
			snprintf(e[i], len, "%s=%s", k, val);
			free(val);
			i++;
		}
	return e;
}

static inline void spec_env_free(char **e)
{
	for (size_t i = 0; e && e[i]; i++)
		free(e[i]);
	free(e);
}

/* Duplicate a JSON value's text into host memory for an op's *out. */
static inline char *spec_out(const struct cratis_host *host, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);
	size_t n = strlen(s) + 1;
	char *o = host->alloc(n);
	memcpy(o, s, n);
	free(s);
	return o;
}

/* Resolve path against the project directory unless absolute; caller frees. */
static inline char *spec_path(const struct cratis_request *req, const char *path)
{
	if (path[0] == '/' || !req->workdir || !*req->workdir)
		return strdup(path);
	size_t n = strlen(req->workdir) + strlen(path) + 2;
	char *p = malloc(n);
	snprintf(p, n, "%s/%s", req->workdir, path);
	return p;
}

#endif
