/* Libraries opened on first use (see dynlib.h). */
#include "dynlib.h"

#include <dlfcn.h>
#include <stdio.h>

#include "cratis/plugin.h"
#include "error.h"
#include "banned.h"

int dynlib_open(struct dynlib *lib, const char *name, const char *soname, const char *package)
{
	lib->name = name;
	lib->soname = soname;
	lib->status = CRATIS_OK;
	lib->message[0] = '\0';
	lib->handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!lib->handle) {
		const char *why = dlerror();
		lib->status = CRATIS_ENOTFOUND;
		snprintf(lib->message, sizeof(lib->message), "cannot load %s (%s): %s; install the Debian package %s",
		         name, soname, why ? why : "not found", package);
	}
	return lib->status;
}

void *dynlib_sym(struct dynlib *lib, const char *symbol)
{
	if (!lib->handle)
		return NULL;
	dlerror();
	void *p = dlsym(lib->handle, symbol);
	if (!p && lib->status == CRATIS_OK) {
		lib->status = CRATIS_ENOTFOUND;
		snprintf(lib->message, sizeof(lib->message), "%s has no function '%s' (a different version of %s?)",
		         lib->soname, symbol, lib->name);
	}
	return p;
}

int dynlib_load_once(pthread_once_t *once, void (*load)(void), const struct dynlib *lib)
{
	int rc = pthread_once(once, load);
	if (rc)
		return error_set(CRATIS_ERROR, "cannot load a library: pthread_once failed (error %d)", rc);
	if (lib->status)
		return error_set(lib->status, "%s", lib->message);
	return CRATIS_OK;
}
