/* Test plugin built for a future ABI major: the host must refuse it with a clear message. */
#include "cratis/plugin.h"

static const struct cratis_ops ops = { sizeof(struct cratis_ops), 0, 0, 0, 0, 0 };
static const char *const versions[] = { "v1", NULL };
static const struct cratis_handler h = { sizeof(struct cratis_handler), "future", "Thing", versions, &ops, 0, NULL };

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *host,
                                            struct cratis_plugin_ctx *ctx)
{
	(void)abi_major;
	(void)host;
	int rc = ctx->set_info(ctx, 99, "badabi", "9.0.0", 0, 0);
	return rc ? rc : ctx->register_handler(ctx, &h);
}
