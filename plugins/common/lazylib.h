/* Heavy libraries opened on first use by a built-in plugin (libcurl for the Service plugin's HTTP
 * health check, libcrypto for the File plugin's SHA-256), so that loading the plugin — which every
 * command that loads plugins does — costs nothing for them. Header-only; uses only libc, libdl and
 * the public plugin ABI (a plugin cannot use the host's src/util/dynlib.c).
 *
 * A plugin lists the functions it calls as an X-macro, declares a table with LAZYLIB_FIELD, and
 * fills it once per process under pthread_once with lazylib_open + LAZYLIB_RESOLVE:
 *
 *   #define CURL_FUNCTIONS(X) X(easy_init, curl_easy_init) X(easy_cleanup, curl_easy_cleanup)
 *   struct curl_table { struct lazylib lib; CURL_FUNCTIONS(LAZYLIB_FIELD) };
 *   static struct curl_table curl_table;            // written only by curl_load, under the once
 *   static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
 *   static void curl_load(void)
 *   {
 *           struct curl_table *t = &curl_table;
 *           if (lazylib_open(&t->lib, "libcurl", CRATIS_LIBCURL_SONAME, CRATIS_LIBCURL_PACKAGE) == CRATIS_OK) {
 *                   CURL_FUNCTIONS(LAZYLIB_RESOLVE)
 *           }
 *   }
 *   ... pthread_once(&curl_once, curl_load); if (curl_table.lib.status) report curl_table.lib.message
 *
 * The SONAME and the Debian package come from the build (plugins/meson.build reads them from the
 * library at configure time). The library is never closed: its functions stay valid for the life
 * of the process, and nothing that runs at exit (its own atexit handlers, LeakSanitizer) meets an
 * unmapped library. */
#ifndef CRATIS_PLUGIN_LAZYLIB_H
#define CRATIS_PLUGIN_LAZYLIB_H

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "cratis/plugin.h"

struct lazylib {
	void *handle;        /* dlopen handle, NULL when the library could not be opened; never closed */
	const char *name;    /* what users call the library ("libcurl"); a static string */
	const char *soname;  /* "libcurl.so.4"; a static string */
	int status;          /* CRATIS_OK, or CRATIS_ENOTFOUND once a step failed */
	char message[512];   /* why it failed ("" when status is CRATIS_OK) */
};

/* A table field for function fn, typed from fn's declaration in the library's header; the field
 * is called field (not fn: libcurl's headers define some functions as macros as well). */
#define LAZYLIB_FIELD(field, fn) __typeof__(fn) *field;
/* Resolve fn into t->field from t->lib (t: a pointer to the table in scope). */
#define LAZYLIB_RESOLVE(field, fn) *(void **)&t->field = lazylib_sym(&t->lib, #fn);

/* Open the shared library soname ("libcurl.so.4") with RTLD_NOW | RTLD_LOCAL into *lib, never to
 * be closed. name ("libcurl") and package (the Debian package that installs it, "libcurl4") are
 * for the message; name and soname are kept by pointer: pass strings that outlive *lib. On
 * failure lib->handle is NULL, lib->status CRATIS_ENOTFOUND and lib->message "cannot load libcurl
 * (libcurl.so.4): <dlerror>; install the Debian package libcurl4". Returns lib->status. Not
 * thread-safe on one *lib: call it from a pthread_once routine. */
static inline int lazylib_open(struct lazylib *lib, const char *name, const char *soname, const char *package)
{
	lib->name = name;
	lib->soname = soname;
	lib->status = CRATIS_OK;
	lib->message[0] = '\0';
	lib->handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!lib->handle) {
		const char *why = dlerror();
		lib->status = CRATIS_ENOTFOUND;
		snprintf(lib->message, sizeof(lib->message), "cannot load %s (%s): %s; install the Debian package %s", name,
		         soname, why ? why : "not found", package);
	}
	return lib->status;
}

/* The address of function symbol in lib, or NULL when lib failed before (nothing is looked up) or
 * the symbol is missing; the first missing symbol sets lib->status to CRATIS_ENOTFOUND and a
 * message naming the symbol and the library ("libcurl.so.4 has no function 'curl_easy_init' (a
 * different version of libcurl?)"). Later calls keep the first message. Same thread rule as
 * lazylib_open. */
static inline void *lazylib_sym(struct lazylib *lib, const char *symbol)
{
	if (!lib->handle)
		return NULL;
	dlerror();
	void *p = dlsym(lib->handle, symbol);
	if (!p && lib->status == CRATIS_OK) {
		lib->status = CRATIS_ENOTFOUND;
		snprintf(lib->message, sizeof(lib->message), "%s has no function '%s' (a different version of %s?)", lib->soname,
		         symbol, lib->name);
	}
	return p;
}

#endif
