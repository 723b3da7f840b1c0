/* libcurl opened on first use (curl_lazy.h). */
#include "util/curl_lazy.h"

#include <pthread.h>
#include <stdio.h>

#include "util/dynlib.h"
#include "util/error.h"
#include "banned.h"

#if !defined(CRATIS_LIBCURL_SONAME) || !defined(CRATIS_LIBCURL_PACKAGE)
#error "meson.build defines CRATIS_LIBCURL_SONAME and CRATIS_LIBCURL_PACKAGE"
#endif

/* Filled once by curl_load (under curl_once) and only read after. */
static struct {
	struct dynlib lib;
	struct curl_api fn;
} curl_lib;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_load(void)
{
	if (dynlib_open(&curl_lib.lib, "libcurl", CRATIS_LIBCURL_SONAME, CRATIS_LIBCURL_PACKAGE))
		return;
#define CURL_RESOLVE(name) curl_lib.fn.name = (__typeof__(curl_lib.fn.name))dynlib_sym(&curl_lib.lib, #name);
	CRATIS_CURL_FUNCTIONS(CURL_RESOLVE)
#undef CURL_RESOLVE
	/* here, once: curl_global_init is not thread-safe everywhere */
	if (curl_lib.lib.status == CRATIS_OK && curl_lib.fn.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		curl_lib.lib.status = CRATIS_ENOTFOUND;
		snprintf(curl_lib.lib.message, sizeof curl_lib.lib.message,
		         "cannot initialise libcurl (%s): curl_global_init failed", CRATIS_LIBCURL_SONAME);
	}
}

int curl_api_get(const struct curl_api **out)
{
	int rc = dynlib_load_once(&curl_once, curl_load, &curl_lib.lib);
	*out = rc == CRATIS_OK ? &curl_lib.fn : NULL;
	return rc;
}
