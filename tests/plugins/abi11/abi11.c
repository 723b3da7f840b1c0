/* Test fixture: a plugin built against the frozen ABI 1.1 header (tests/plugins/abi11/cratis/
 * plugin.h), so its structs are the 1.1 sizes. It must keep loading and working under a newer
 * host: kind abi11/v1 Old; apply runs `echo` through host->run (ABI 1.0) and answers with what it
 * saw, including the sizes it was built with and the ones the host passed. */
#include <stdio.h>
#include <string.h>

#include "cratis/plugin.h"

#if CRATIS_ABI_MINOR != 1
#error "the abi11 fixture must be built against the frozen ABI 1.1 header"
#endif

static const struct cratis_host *host;

static int validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	if (req->spec && strstr(req->spec, "\"bad\":true")) {
		host->error(req->call, "spec.bad", "bad is not allowed (1.1 plugin)");
		return CRATIS_EINVAL;
	}
	return CRATIS_OK;
}

static int apply(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	const char *argv[] = { "echo", "hello from 1.1", NULL };
	struct cratis_run_result r = { .size = sizeof(r) };
	int rc = host->run(req->call, argv, NULL, NULL, 10000, &r);
	if (rc)
		return rc;
	size_t n = strlen(r.out);
	if (n && r.out[n - 1] == '\n')
		r.out[n - 1] = '\0';
	host->log(req->call, CRATIS_LOG_INFO, "1.1 plugin applied %s/%s", req->kind, req->name);
	char buf[512];
	int len = snprintf(buf, sizeof(buf),
	                   "{\"outputs\":{\"echo\":\"%s\",\"exit\":%d,\"builtRequestSize\":%zu,\"hostRequestSize\":%u,"
	                   "\"builtHostSize\":%zu,\"hostSize\":%u,\"hostMinor\":%u,\"project\":\"%s\",\"environment\":\"%s\","
	                   "\"timeoutMs\":%d}}",
	                   r.out, r.exit_code, sizeof(struct cratis_request), req->size, sizeof(struct cratis_host),
	                   host->size, host->abi_minor, req->project, req->environment, req->timeout_ms);
	host->free(r.out);
	host->free(r.err);
	*out = host->alloc((size_t)len + 1);
	memcpy(*out, buf, (size_t)len + 1);
	return CRATIS_OK;
}

static int nothing(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)req;
	(void)out;
	return CRATIS_OK;
}

static const struct cratis_ops ops = { sizeof(struct cratis_ops), validate, NULL, apply, nothing, NULL };
static const char *const versions[] = { "v1", NULL };
static const struct cratis_handler old = { sizeof(struct cratis_handler), "abi11", "Old", versions, &ops, NULL };

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *h,
                                            struct cratis_plugin_ctx *ctx)
{
	if (abi_major != CRATIS_ABI_MAJOR)
		return CRATIS_EABI;
	host = h;
	int rc = ctx->set_info(ctx, CRATIS_ABI_MAJOR, "abi11", "1.1.0", NULL, NULL);
	if (!rc && CRATIS_HAS(ctx, require))
		rc = ctx->require(ctx, "exec", ">=0.1.0");
	return rc ? rc : ctx->register_handler(ctx, &old);
}
