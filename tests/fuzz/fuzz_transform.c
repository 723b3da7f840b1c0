/* libFuzzer target: the transformer (src/transform) on any bytes. The first byte picks the
 * provider; the rest is Python source, transformed with the storage plugin's rules. What
 * transforms is transformed again and must come back unchanged (idempotence). An input that
 * starts with "RULES\n" is a rules.yaml instead: loaded, and when it loads a fixed program is
 * transformed with it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transform/transform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The storage rules, loaded on the first input and kept for the process (a fuzz target's one
 * piece of state: loading them per input would spend the run in the YAML parser). */
static struct transform_rules *storage_rules(void)
{
	static struct transform_rules *rules;
	if (!rules) {
		const char *src = getenv("CRATIS_SOURCE_DIR");
		char *path = xasprintf("%s/plugins/storage/transformations/rules.yaml", src ? src : ".");
		struct diags d = DIAGS_INIT;
		rules = transform_rules_new();
		if (transform_rules_load_file(rules, path, &d)) {
			fprintf(stderr, "fuzz_transform: cannot load %s (set CRATIS_SOURCE_DIR)\n", path);
			abort();
		}
		diags_release(&d);
		free(path);
	}
	return rules;
}

static void transform_twice(const struct transform_rules *rules, const char *provider, const char *src, size_t len)
{
	struct transform_output o, again;
	struct diags d = DIAGS_INIT;
	transform_output_init(&o);
	transform_output_init(&again);
	if (!transform_source(&o, rules, provider, "fuzz.py", src, len, &d)) {
		if (!o.changed && (o.text.len != len || memcmp(o.text.ptr, src, len)))
			abort(); /* "unchanged" must mean byte for byte */
		if (!transform_source(&again, rules, provider, "fuzz.py", o.text.ptr, o.text.len, &d) &&
		    (again.changed || again.text.len != o.text.len || memcmp(again.text.ptr, o.text.ptr, o.text.len)))
			abort(); /* not idempotent */
	} else if (!diags_errors(&d) || o.text.len) {
		abort(); /* a failure says why and leaves no output */
	}
	transform_output_release(&again);
	transform_output_release(&o);
	diags_release(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const providers[] = { "aws", "gcp", "azure" };
	if (size >= 6 && !memcmp(data, "RULES\n", 6)) {
		static const char program[] = "import infrar.cache as c\nfrom infrar.storage import upload\n"
		                              "x = c.get('k', ttl=3)\nif x:\n    upload('b', 's', c.get(x))\n";
		struct transform_rules *r = transform_rules_new();
		struct diags d = DIAGS_INIT;
		if (!transform_rules_load_buffer(r, "fuzz.yaml", (const char *)data + 6, size - 6, &d))
			for (size_t p = 0; p < 3; p++)
				transform_twice(r, providers[p], program, sizeof(program) - 1);
		diags_release(&d);
		transform_rules_free(r);
		return 0;
	}
	if (!size)
		return 0;
	transform_twice(storage_rules(), providers[data[0] % 3], (const char *)data + 1, size - 1);
	return 0;
}
