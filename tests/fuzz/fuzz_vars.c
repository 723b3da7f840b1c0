/* libFuzzer target: variable interpolation. The input is the template text; its first byte
 * chooses the pass (partial, as at load time, or final with outputs and artifacts known). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/vars.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ref(const char *id, const char *key, json_t **out, bool *sensitive, void *payload)
{
	(void)payload;
	*sensitive = !strcmp(key, "s");
	*out = strcmp(key, "n") ? json_sprintf("%s:%s", id, key) : json_integer(7);
	return 0;
}

static int artifact(char **out, const char *name, const char *field, void *payload)
{
	(void)payload;
	*out = NULL;
	if (!strcmp(name, "missing"))
		return error_set(CRATIS_ENOTFOUND, "no such artifact");
	*out = strdup(field);
	return 0;
}

static void on_error(const char *field, const char *msg, void *payload)
{
	(void)field;
	(void)msg;
	(void)payload;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	char *s = strndup((const char *)data + 1, size - 1);
	json_t *vars = json_pack("{s:s,s:i,s:n,s:{s:s}}", "name", "web", "port", 8081, "none", "obj", "k", "${name}");
	struct vars_ctx ctx = { .variables = vars, .partial = data[0] & 1, .ref = data[0] & 2 ? ref : NULL,
	                        .unknown = data[0] & 4 ? "(known after apply)" : NULL, .artifact = artifact };
	json_t *out = NULL;
	if (!vars_expand_string(s, &ctx, &out))
		json_decref(out);
	json_t *tree = json_pack("[s,{s:s,s:[s]}]", s, "a", s, "b", s);
	vars_expand_tree(&tree, "spec", &ctx, on_error, NULL);
	vars_pending(tree);
	struct strv ids = STRV_INIT;
	vars_collect_refs(tree, &ids);
	strv_release(&ids);
	json_decref(tree);
	json_decref(vars);
	free(s);
	return 0;
}
