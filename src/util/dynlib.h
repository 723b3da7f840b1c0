/* Heavy libraries loaded on first use: a module that needs libgit2 or libxml2 opens it by its
 * SONAME with dynlib_open and resolves the functions it calls with dynlib_sym, once per process
 * (under pthread_once), so commands that never use the library never pay its start-up cost. */
#ifndef CRATIS_DYNLIB_H
#define CRATIS_DYNLIB_H

#include <pthread.h>

struct dynlib {
	void *handle;        /* dlopen handle, NULL when the library could not be opened; never closed */
	const char *name;    /* as given to dynlib_open (static strings) */
	const char *soname;
	int status;          /* CRATIS_OK, or CRATIS_ENOTFOUND once a step failed */
	char message[512];   /* why it failed ("" when status is CRATIS_OK) */
};

/* Open the shared library soname ("libgit2.so.1.5") with RTLD_NOW | RTLD_LOCAL into *lib. It is
 * never closed: its functions stay valid for the life of the process. name is what users call
 * the library ("libgit2") and package the Debian package that installs it ("libgit2-1.5"); both
 * appear in the message. name and soname are kept by pointer: pass strings that outlive *lib. On failure lib->handle is NULL, lib->status CRATIS_ENOTFOUND and
 * lib->message "cannot load libgit2 (libgit2.so.1.5): <dlerror>; install the Debian package
 * libgit2-1.5". Returns lib->status. Not thread-safe on one *lib: call it from a pthread_once
 * routine. */
int dynlib_open(struct dynlib *lib, const char *name, const char *soname, const char *package);

/* The address of function symbol in lib, or NULL when lib failed before (nothing is looked up)
 * or symbol is missing; the first missing symbol sets lib->status to CRATIS_ENOTFOUND and a
 * message naming the symbol and the library ("libgit2.so.1.5 has no function 'git_tag_list'
 * (a different version of libgit2?)"). Later calls keep the first message. Same thread rule as
 * dynlib_open. */
void *dynlib_sym(struct dynlib *lib, const char *symbol);

/* Run load (which calls dynlib_open and dynlib_sym on lib) once per process under once, then
 * report how it went: CRATIS_OK, or lib->status with lib->message as the calling thread's last
 * error (src/util/error.h); CRATIS_ERROR when pthread_once itself fails. Thread-safe. */
int dynlib_load_once(pthread_once_t *once, void (*load)(void), const struct dynlib *lib);

#endif
