/* PostgreSQL backend: libpq is opened on first use (util/dynlib.h), like libgit2: a run on
 * SQLite state never loads it nor what it links (Kerberos, LDAP, TLS). This file fills the table
 * of functions the backend calls (postgres_internal.h), so it is the one that sees libpq's own
 * names rather than the macros over the table. */
#define _GNU_SOURCE
#define PG_PQ_TABLE_ONLY
#include "postgres_internal.h"

#include "cratis/plugin.h"
#include "banned.h"

#if !defined(CRATIS_LIBPQ_SONAME) || !defined(CRATIS_LIBPQ_PACKAGE)
#error "meson.build defines CRATIS_LIBPQ_SONAME and CRATIS_LIBPQ_PACKAGE"
#endif

struct pg_pq_lib pq_lib;
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;

static void pq_load(void)
{
	if (dynlib_open(&pq_lib.lib, "libpq", CRATIS_LIBPQ_SONAME, CRATIS_LIBPQ_PACKAGE))
		return;
#define PQ_RESOLVE(name) pq_lib.fn.name = (__typeof__(pq_lib.fn.name))dynlib_sym(&pq_lib.lib, #name);
	PQ_FUNCTIONS(PQ_RESOLVE)
#undef PQ_RESOLVE
}

/* Load libpq (once); CRATIS_OK, or the last error naming the library and its package. */
int pg_pq_loaded(void)
{
	return dynlib_load_once(&pq_once, pq_load, &pq_lib.lib);
}
