/* libcurl opened on first use (src/util/dynlib.h): the webhook sink (src/events/sink_webhook.c)
 * plugin downloads (src/plugin/install.c) and the Prometheus metrics provider
 * (src/experiment/metrics_prom.c) call it through one table of function pointers, so
 * commands that never reach the network never load it. */
#ifndef CRATIS_CURL_LAZY_H
#define CRATIS_CURL_LAZY_H

/* calls go through a table of pointers, so curl.h's type-checking macros cannot apply */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#define CRATIS_CURL_FUNCTIONS(X) \
	X(curl_global_init) X(curl_easy_init) X(curl_easy_setopt) X(curl_easy_perform) X(curl_easy_getinfo) \
	X(curl_easy_cleanup) X(curl_easy_strerror) X(curl_slist_append) X(curl_slist_free_all) X(curl_getdate) \
	X(curl_easy_escape) X(curl_free)

/* The libcurl functions cratis calls, each under its own name. */
struct curl_api {
#define CRATIS_CURL_MEMBER(name) __typeof__(name) *name;
	CRATIS_CURL_FUNCTIONS(CRATIS_CURL_MEMBER)
#undef CRATIS_CURL_MEMBER
};

/* The table, with libcurl opened and curl_global_init(CURL_GLOBAL_DEFAULT) called once per
 * process (thread-safe; never cleaned up: the library stays loaded). Returns CRATIS_OK with *out
 * set (static storage, valid for the life of the process); CRATIS_ENOTFOUND when libcurl cannot
 * be loaded, lacks a function or cannot initialise, with the last error naming the library and
 * its Debian package; CRATIS_ERROR when pthread_once fails. */
int curl_api_get(const struct curl_api **out);

#endif
