/* Example C plugin for cratis: kind Echo (echo/v1). Copy this file to start your own plugin.
 *
 *   cc -shared -fPIC -fvisibility=hidden -o cratis-echo.so echo.c \
 *      $(pkg-config --cflags --libs cratis-plugin)
 *   mkdir -p .cratis/plugins && cp cratis-echo.so .cratis/plugins/
 *
 * apply logs the desired spec (a JSON document) through the host and records one output, the
 * spec's size in bytes; destroy logs the recorded state. A real plugin parses the JSON with a
 * library such as jansson and acts on it. Walk-through: docs/plugins.md. */
#include <stdio.h>
#include <string.h>

#include <cratis/plugin.h>

static const struct cratis_host *host;

static int echo_apply(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	host->log(req->call, CRATIS_LOG_INFO, "echo %s/%s in '%s': %s", req->kind, req->name,
	          req->environment, req->spec);
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "{\"outputs\":{\"bytes\":%zu}}", strlen(req->spec));
	*out = host->alloc((size_t)n + 1);   /* results cross the boundary in host memory */
	memcpy(*out, buf, (size_t)n + 1);
	return CRATIS_OK;
}

static int echo_destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	host->log(req->call, CRATIS_LOG_INFO, "forget %s/%s (was %s)", req->kind, req->name,
	          req->prior ? req->prior : "nothing");
	return CRATIS_OK;
}

static const struct cratis_ops ops = {
	.size = sizeof(struct cratis_ops),
	.apply = echo_apply,
	.destroy = echo_destroy,
};
static const char *const versions[] = { "v1", NULL };
/* The fields an Echo may have (ABI 1.3): cratis refuses any other with a "did you mean" hint
 * before an op runs. Paths start at the document root; "spec.labels.*" would allow any key under
 * spec.labels. Ended by an entry whose path is NULL. Leave .fields out to accept any field. */
static const struct cratis_field fields[] = {
	/* size, path, type, help, default (as text, or NULL), required (documentation for
	 * `cratis explain`; validate enforces it) */
	{ sizeof(struct cratis_field), "spec.message", "string", "the text apply logs", NULL, 0 },
	{ 0 },
};
static const struct cratis_handler echo = {
	.size = sizeof(struct cratis_handler),
	.group = "echo",
	.kind = "Echo",
	.versions = versions,
	.ops = &ops,
	.fields = fields,
};

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *h,
                                            struct cratis_plugin_ctx *ctx)
{
	if (abi_major != CRATIS_ABI_MAJOR)
		return CRATIS_EABI;
	host = h;
	int rc = ctx->set_info(ctx, CRATIS_ABI_MAJOR, "echo", "1.0.0", NULL, NULL);
	return rc ? rc : ctx->register_handler(ctx, &echo);
}
