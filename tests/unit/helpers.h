/* Shared helpers for the unit tests: temporary directories and files, a fake in-process handler,
 * and substring assertions. */
#ifndef CRATIS_TEST_HELPERS_H
#define CRATIS_TEST_HELPERS_H

#define _GNU_SOURCE
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "plugin/registry.h"
#include "util/error.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/util.h"

/* A fresh directory under $TMPDIR (removed by tmp_cleanup). */
static inline char *tmp_dir(void)
{
	const char *base = getenv("TMPDIR");
	char *t = xasprintf("%s/cratis-test-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(t))
		fail_msg("mkdtemp failed");
	return t;
}

static inline void tmp_cleanup(char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		print_error("could not remove %s\n", dir);
	free(cmd);
	free(dir);
}

/* Write text to dir/name; returns the path (caller frees). */
static inline char *write_file(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

#define assert_contains(hay, needle) \
	do { \
		const char *h_ = (hay), *n_ = (needle); \
		if (!h_ || !strstr(h_, n_)) \
			fail_msg("expected \"%s\" in \"%s\"", n_, h_ ? h_ : "(null)"); \
	} while (0)

/* Every diagnostic of errors rendered as text (diag_format) and joined by newlines (caller
 * frees). */
static inline char *joined(const struct diags *errors)
{
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < errors->n; i++) {
		diag_format(&errors->v[i], &b);
		buf_addch(&b, '\n');
	}
	return buf_detach(&b);
}

/* A fake plugin "fake" handling fake/v1 Thing and fake/v2 Thing, in-process. */
struct fake_calls {
	atomic_int validate, plan, apply, destroy, observe; /* ops run on the engine's worker threads */
	int drift;   /* observe reports drift when set */
};
extern struct fake_calls fake_calls;

static inline int fake_op(atomic_int *counter, const struct cratis_request *req, char **out)
{
	(*counter)++;
	if (req->spec && strstr(req->spec, "\"bad\":true")) {
		host_services.error(req->call, "spec.bad", "bad is not allowed");
		return CRATIS_EINVAL;
	}
	(void)out;
	return CRATIS_OK;
}
static inline int fake_validate(void *d, const struct cratis_request *r, char **o) { (void)d; return fake_op(&fake_calls.validate, r, o); }
static inline int fake_apply(void *d, const struct cratis_request *r, char **o)
{
	(void)d;
	int rc = fake_op(&fake_calls.apply, r, o);
	if (r->spec && strstr(r->spec, "\"fail\":true")) {
		host_services.error(r->call, NULL, "failing as asked");
		return CRATIS_ERROR;
	}
	const char *res = "{\"outputs\":{\"url\":\"http://x\"}}";
	*o = host_services.alloc(strlen(res) + 1);
	memcpy(*o, res, strlen(res) + 1);
	return rc;
}
static inline int fake_destroy(void *d, const struct cratis_request *r, char **o) { (void)d; return fake_op(&fake_calls.destroy, r, o); }
static inline int fake_observe(void *d, const struct cratis_request *r, char **o)
{
	(void)d;
	(void)r;
	fake_calls.observe++;
	const char *res = fake_calls.drift ? "{\"exists\":true,\"drift\":true,\"reason\":\"changed by hand\"}" : "{\"exists\":true,\"drift\":false}";
	*o = host_services.alloc(strlen(res) + 1);
	memcpy(*o, res, strlen(res) + 1);
	return CRATIS_OK;
}

static inline void fake_register(struct registry *r)
{
	static const struct cratis_ops ops = { sizeof(struct cratis_ops), fake_validate, NULL, fake_apply, fake_destroy, fake_observe };
	static const char *const versions[] = { "v1", "v2", NULL };
	static const struct cratis_handler h = { sizeof(struct cratis_handler), "fake", "Thing", versions, &ops, NULL, NULL };
	struct plugin *p = xcalloc(1, sizeof(*p));
	p->name = xstrdup("fake");
	p->version = xstrdup("1.0.0");
	p->path = xstrdup("(in-process)");
	ALLOC_GROW(r->plugins, r->nplugins + 1, r->aplugins);
	r->plugins[r->nplugins++] = p;
	struct diags errors = DIAGS_INIT;
	assert_int_equal(registry_add_handler(r, p, &h, &errors), 0);
	diags_release(&errors);
}

#endif
