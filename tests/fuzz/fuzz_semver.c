/* libFuzzer target: semantic versions and version ranges. The input is parsed as a range and as a
 * version; what parses is compared with, and matched against, a few fixed versions. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "release/semver.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = { "0.0.0", "1.2.3", "1.2.3-rc.1", "2.0.0-SNAPSHOT", "18446744073709551615.0.0" };
	char *s = strndup((const char *)data, size);
	struct semver_range *r = NULL;
	struct semver v = { 0 };
	if (!semver_range_parse(&r, s)) {
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
			struct semver f;
			if (!semver_parse(&f, fixed[i])) {
				semver_range_satisfies(r, &f);
				semver_release(&f);
			}
		}
	}
	if (!semver_parse(&v, s)) {
		char *text = semver_format(&v);
		struct semver back;
		/* what is printed parses back to an equal version */
		if (semver_parse(&back, text) || semver_compare(&v, &back))
			abort();
		semver_release(&back);
		free(text);
		semver_is_snapshot(&v);
		if (r)
			semver_range_satisfies(r, &v);
		semver_release(&v);
	}
	semver_range_free(r);
	free(s);
	return 0;
}
