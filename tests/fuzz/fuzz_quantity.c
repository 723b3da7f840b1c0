/* libFuzzer target: Kubernetes quantities of namespace quotas and resource requests
 * (src/app/teams.c). What parses is non-negative and formats to a text that parses back to the same
 * amount. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/teams.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size);
	int64_t v, back;
	char text[32];
	if (!quantity_cpu_millis(s, &v)) {
		quantity_format_cpu(v, text);
		if (v < 0 || quantity_cpu_millis(text, &back) || back != v)
			abort();
	}
	if (!quantity_memory_bytes(s, &v)) {
		quantity_format_memory(v, text);
		if (v < 0 || quantity_memory_bytes(text, &back) || back != v)
			abort();
	}
	error_clear();
	free(s);
	return 0;
}
