/* libFuzzer target: If-None-Match header values of the dashboard's requests (src/server/etag.c).
 * The input is matched against a fixed ETag and against itself; a match must be explained by the
 * input: it contains the ETag, or a "*". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/dashboard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char etag[] = "\"0123456789abcdef0123456789abcdef\"";
	char *s = strndup((const char *)data, size);
	if (!s)
		return 0;
	if (ui_etag_matches(s, etag) && !strstr(s, etag) && !strchr(s, '*'))
		abort();
	(void)ui_etag_matches(s, s);
	(void)ui_etag_matches(s, "");
	free(s);
	return 0;
}
