/* libFuzzer target: the manifest loader (YAML -> JSON with positions) on any bytes, then
 * manifest_locate on a few field paths of every document. */
#include <stddef.h>
#include <stdint.h>

#include "manifest/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fields[] = { "", "metadata.name", "spec", "spec.apply[0]", "a[1].b", "[0]" };
	struct manifest_set s;
	manifest_set_init(&s);
	manifest_load_buffer(&s, "fuzz.yaml", (const char *)data, size);
	for (size_t i = 0; i < s.n; i++)
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			struct loc l;
			manifest_locate(s.docs[i], fields[f], &l);
		}
	manifest_set_release(&s);
	return 0;
}
