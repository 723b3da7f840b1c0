/* libFuzzer target: the version sources. The first byte chooses pom.xml (even) or package.json
 * (odd); the rest is written as that file into a private temporary directory and read with
 * version_read. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "release/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/cratis-fuzz-XXXXXX";

static void cleanup(void)
{
	char path[sizeof(dir) + 32];
	snprintf(path, sizeof(path), "%s/pom.xml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/package.json", dir);
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (dir[sizeof(dir) - 2] == 'X') {
		if (!mkdtemp(dir))
			abort();
		atexit(cleanup);
	}
	const char *name = data[0] & 1 ? "package.json" : "pom.xml";
	char path[sizeof(dir) + 32];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f))
		abort();
	struct version_source src;
	struct semver v;
	if (!version_read(dir, name, &src, &v)) {
		version_source_release(&src);
		semver_release(&v);
	}
	return 0;
}
