/* What rules.c and transform.c share: the loaded form of rules.yaml and the Python parser. */
#ifndef CRATIS_TRANSFORM_INTERNAL_H
#define CRATIS_TRANSFORM_INTERNAL_H
#include <stdbool.h>
#include <stddef.h>
#include <tree_sitter/api.h>

#include "transform/transform.h"

/* The generated grammar (tree-sitter-python, built by meson from npm). */
const TSLanguage *tree_sitter_python(void);

/* One piece of a code_template: literal text, or the hole of parameter `param`. */
struct xf_seg {
	char *text;       /* literal text (hole: NULL) */
	int param;        /* index into the operation's params (literal: -1) */
};

/* What a call of one operation becomes on one provider. */
struct xf_impl {
	char *provider;
	struct strv imports;        /* import statements, one a line */
	struct strv setup;          /* setup blocks, each ending with a newline */
	struct strv requirements;   /* "package<spec>" lines */
	struct xf_seg *segs;
	size_t nsegs, alloc_segs;
	bool wrap;                  /* the filled template is not a primary: parenthesise it */
};

struct xf_param {
	char *name;
	char *def;        /* default value as Python text, or NULL (required) */
};

/* One SDK operation. */
struct xf_op {
	char *name;       /* "infrar.storage.upload" */
	char *module;     /* "infrar.storage" */
	const char *leaf; /* "upload" (points into name) */
	struct xf_param *params;
	size_t nparams, alloc_params;
	struct xf_impl *impls;
	size_t nimpls, alloc_impls;
	char *file;       /* rules file and line it was defined at */
	int line;
};

struct transform_rules {
	struct xf_op *ops;
	size_t n, alloc;
};

/* The operation named name ("infrar.storage.upload"), or NULL. */
const struct xf_op *xf_find_op(const struct transform_rules *r, const char *name);
/* True when some operation lives in module ("infrar.storage"). */
bool xf_module_known(const struct transform_rules *r, const char *module);
/* The implementation of op for provider, or NULL. */
const struct xf_impl *xf_find_impl(const struct xf_op *op, const char *provider);

#endif
