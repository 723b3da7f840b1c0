/* Test and benchmark plugin: kind Noop (noop/v1) does nothing and succeeds; its only output is
 * the spec's `value`, so references between resources can be tested. */
#include <stdio.h>
#include <string.h>

#include "cratis/plugin.h"

static const struct cratis_host *host;

static char *dup_out(const char *s)
{
	size_t n = strlen(s) + 1;
	char *o = host->alloc(n);
	memcpy(o, s, n);
	return o;
}

static int apply(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	/* echo spec.value (when the spec is a flat {"value":"..."}) as an output */
	const char *v = req->spec ? strstr(req->spec, "\"value\":\"") : NULL;
	if (v) {
		v += 9;
		const char *end = strchr(v, '"');
		char buf[512];
		snprintf(buf, sizeof(buf), "{\"outputs\":{\"value\":\"%.*s\"}}", (int)(end ? end - v : 0), v);
		*out = dup_out(buf);
	}
	if (req->spec && strstr(req->spec, "\"fail\":true")) {
		host->error(req->call, "spec.fail", "failing as asked");
		return CRATIS_ERROR;
	}
	return CRATIS_OK;
}

static int nothing(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)req;
	(void)out;
	return CRATIS_OK;
}

static const struct cratis_ops ops = { sizeof(struct cratis_ops), NULL, NULL, apply, nothing, NULL };
static const char *const versions[] = { "v1", NULL };
static const struct cratis_handler noop = { sizeof(struct cratis_handler), "noop", "Noop", versions, &ops, NULL, NULL };

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *h,
                                            struct cratis_plugin_ctx *ctx)
{
	if (abi_major != CRATIS_ABI_MAJOR)
		return CRATIS_EABI;
	host = h;
	int rc = ctx->set_info(ctx, CRATIS_ABI_MAJOR, "noop", "1.0.0", NULL, NULL);
	return rc ? rc : ctx->register_handler(ctx, &noop);
}
