/* Test plugin that claims exec/v1 Task, which the built-in exec plugin already handles. */
#include "cratis/plugin.h"

static int nothing(void *d, const struct cratis_request *r, char **o)
{
	(void)d;
	(void)r;
	(void)o;
	return CRATIS_OK;
}
static const struct cratis_ops ops = { sizeof(struct cratis_ops), 0, 0, nothing, nothing, 0 };
static const char *const versions[] = { "v1", "v2", NULL };
static const struct cratis_handler h = { sizeof(struct cratis_handler), "exec", "Task", versions, &ops, 0, NULL };

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *host,
                                            struct cratis_plugin_ctx *ctx)
{
	(void)host;
	if (abi_major != CRATIS_ABI_MAJOR)
		return CRATIS_EABI;
	int rc = ctx->set_info(ctx, CRATIS_ABI_MAJOR, "dupkind", "0.0.1", 0, 0);
	return rc ? rc : ctx->register_handler(ctx, &h);
}
