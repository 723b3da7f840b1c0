/* libFuzzer target: the exec-plugin line protocol, reading side (what a plugin process prints:
 * JSON lines, answers matched by id, log lines), through exec_protocol_feed. */
#include <stddef.h>
#include <stdint.h>

#include "plugin/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	exec_protocol_feed((const char *)data, size);
	return 0;
}
