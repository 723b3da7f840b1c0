/* cratis output [NAME] [-o text|json|raw]: the project's outputs, read from the recorded state
 * without taking the lock (like `terraform output`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

static const char *sget(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

void print_outputs(const json_t *outputs, FILE *f)
{
	size_t i;
	json_t *o;
	json_array_foreach(outputs, i, o) {
		const char *name = sget(o, "name");
		json_t *v = json_object_get(o, "value");
		if (!json_is_true(json_object_get(o, "known"))) {
			fprintf(f, "%s = %s\n", name, "(known after apply)");
		} else if (json_is_true(json_object_get(o, "sensitive")) || !json_is_true(json_object_get(o, "clear"))) {
			fprintf(f, "%s = (sensitive)\n", name);
		} else {
			char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			fprintf(f, "%s = %s\n", name, t ? t : "null");
			free(t);
		}
	}
}

int cmd_output(int argc, char **argv, struct cli_ctx *ctx)
{
	static const char usage[] = "cratis output [NAME] [-f PATH]... [--env NAME] [-o text|json|raw]";
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	int rc = EXIT_OK;
	if (ctx->args.n > 1 || ctx->markdown || (ctx->raw && !ctx->args.n)) {
		fprintf(stderr, "error: %s\nusage: %s\n",
		        ctx->args.n > 1 ? "at most one output NAME" : ctx->markdown ? "-o: expected 'text', 'json' or 'raw'" : "-o raw needs an output NAME",
		        usage);
		return EXIT_USAGE;
	}
	struct app *a;
	if ((rc = cli_open(ctx, APP_LOAD_MANIFESTS, &a)))
		return rc;
	struct diags d = DIAGS_INIT;
	json_t *outs = NULL;
	if (app_outputs(a, &outs, &d)) {
		rc = EXIT_ERROR;
		goto out_release;
	}
	if (!ctx->args.n) {
		if (!json_array_size(outs))
			fprintf(stderr, "warning: no outputs are declared (Project spec.outputs in docs/manifests.md)\n");
		if (ctx->json) {
			json_t *obj = json_object();
			size_t i;
			json_t *o;
			json_array_foreach(outs, i, o) {
				json_t *c = json_deep_copy(o);
				json_object_del(c, "name");
				json_object_set_new(obj, sget(o, "name"), c);
			}
			print_json(obj);
			json_decref(obj);
		} else {
			print_outputs(outs, stdout);
		}
		goto out_release;
	}
	const char *want = ctx->args.v[0];
	json_t *one = NULL;
	size_t i;
	json_t *o;
	const char **names = calloc(json_array_size(outs) + 1, sizeof(*names));
	json_array_foreach(outs, i, o) {
		if (names)
			names[i] = sget(o, "name");
		if (!strcmp(sget(o, "name"), want))
			one = o;
	}
	if (!one) {
		fprintf(stderr, "error: no output '%s' is declared", want);
		const char *best = names ? model_suggest(want, names, json_array_size(outs)) : NULL;
		fprintf(stderr, "%s\n", json_array_size(outs) ? "" : " (Project spec.outputs declares none)");
		if (best)
			fprintf(stderr, "hint: did you mean '%s'?\n", best);
		free(names);
		rc = EXIT_ERROR;
		goto out_release;
	}
	free(names);
	json_t *v = json_object_get(one, "value");
	bool sensitive = json_is_true(json_object_get(one, "sensitive"));
	if (!json_is_true(json_object_get(one, "known"))) {
		json_t *w = json_object_get(one, "waiting");
		char *t = json_dumps(w, JSON_COMPACT | JSON_ENCODE_ANY);
		fprintf(stderr, "error: output '%s' has no value yet in environment '%s': %s recorded no outputs (apply first)\n",
		        want, a->model.env_name, t ? t : "its resources");
		free(t);
		rc = EXIT_ERROR;
	} else if (!json_is_true(json_object_get(one, "clear"))) {
		if (ctx->raw || ctx->json) {
			fprintf(stderr, "error: output '%s' is sensitive and its value is not recorded (it comes from a secret or a sensitive variable)\n", want);
			rc = EXIT_ERROR;
		} else {
			printf("(sensitive)\n");
		}
	} else if (ctx->raw) {
		if (json_is_string(v)) {
			fputs(json_string_value(v), stdout);
		} else if (json_is_number(v) || json_is_boolean(v)) {
			char *t = json_dumps(v, JSON_ENCODE_ANY);
			fputs(t ? t : "", stdout);
			free(t);
		} else {
			fprintf(stderr, "error: output '%s' is not a string, number or boolean; -o raw cannot print it (use -o json)\n", want);
			rc = EXIT_ERROR;
		}
	} else if (ctx->json) {
		char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_INDENT(2));
		printf("%s\n", t ? t : "null");
		free(t);
	} else if (sensitive) {
		printf("(sensitive)\n");
	} else {
		char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		printf("%s\n", t ? t : "null");
		free(t);
	}
out_release:
	print_errors(ctx, &d);
	diags_release(&d);
	json_decref(outs);
	app_close(a);
	return rc;
}
