/* cratis transform: rewrite provider-agnostic SDK calls in Python code for one provider. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "transform/transform.h"
#include "util/buf.h"
#include "util/subprocess.h"
#include "banned.h"

#define USAGE "transform --provider aws|gcp|azure [-i FILE|DIR] [-o FILE|DIR] [--check] [--diff] [--rules PATH] [--deny-lock-in]"
#define MAX_SOURCE (64u << 20)

struct run {
	const struct transform_rules *rules;
	const char *provider;
	bool check, diff, verbose;
	bool deny_lock_in;       /* --deny-lock-in: a provider-specific SDK use fails its file */
	int changed, failed, files, calls;
	struct strv requirements;
	struct diags d;
	const struct cli_ctx *ctx;
};

/* Print a unified diff of old and new text with `diff -u` (labels a/NAME, b/NAME). */
static void show_diff(const char *name, const struct buf *old, const struct buf *new)
{
	char a[] = "/tmp/cratis-transform-a.XXXXXX", b[] = "/tmp/cratis-transform-b.XXXXXX";
	int fa = mkstemp(a), fb = fa < 0 ? -1 : mkstemp(b);
	if (fa < 0 || fb < 0) {
		fprintf(stderr, "error: --diff: cannot create a temporary file: %s\n", strerror(errno));
		if (fa >= 0) {
			close(fa);
			unlink(a);
		}
		return;
	}
	bool ok = write(fa, old->ptr, old->len) == (ssize_t)old->len && write(fb, new->ptr, new->len) == (ssize_t)new->len;
	close(fa);
	close(fb);
	if (ok) {
		char *la = xasprintf("a/%s", name), *lb = xasprintf("b/%s", name);
		const char *argv[] = { "diff", "-u", "--label", la, "--label", lb, a, b, NULL };
		struct proc_spec spec = { .argv = argv, .out_cap = 256u << 20 };
		struct proc_result r;
		memset(&r, 0, sizeof(r));
		if (proc_run(&spec, &r) == 0)
			fwrite(r.out.ptr, 1, r.out.len, stdout);
		else
			fprintf(stderr, "error: --diff: cannot run diff\n");
		proc_result_release(&r);
		free(la);
		free(lb);
	}
	unlink(a);
	unlink(b);
}

/* Read all of fd into b, at most cap bytes. Returns 0, or -1 with errno (EFBIG past cap). */
static int read_fd(struct buf *b, int fd, size_t cap)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (b->len + (size_t)n > cap) {
			errno = EFBIG;
			return -1;
		}
		buf_add(b, chunk, (size_t)n);
	}
}

/* Transform one file: in (NULL: stdin) to out (NULL: stdout, "" : in place when writing). */
static void one(struct run *r, const char *in, const char *out)
{
	struct buf src = BUF_INIT;
	const char *name = in ? in : "<stdin>";
	r->files++;
	if (in ? buf_read_file(&src, in, MAX_SOURCE) : read_fd(&src, 0, MAX_SOURCE)) {
		fprintf(stderr, "error: %s: cannot read: %s\n", name, strerror(errno));
		r->failed++;
		buf_release(&src);
		return;
	}
	struct transform_output o;
	transform_output_init(&o);
	struct diags d = DIAGS_INIT;
	int rc = transform_source(&o, r->rules, r->provider, name, src.ptr, src.len, &d);
	/* the only warnings of a transform are lock-in ones (a provider-specific SDK module kept):
	 * with --deny-lock-in they are errors and the file is not written, as render does */
	if (r->deny_lock_in) {
		for (size_t i = 0; i < d.n; i++)
			if (d.v[i].severity == DIAG_WARNING) {
				d.v[i].severity = DIAG_ERROR;
				d.v[i].status = CRATIS_EINVAL;
				if (!d.v[i].hint)
					d.v[i].hint = xstrdup("--deny-lock-in makes lock-in warnings errors; use a "
					                      "provider-agnostic infrar operation, or drop the flag");
				rc = CRATIS_EINVAL;
			}
	}
	print_errors(r->ctx, &d);
	diags_release(&d);
	if (rc) {
		r->failed++;
		goto out;
	}
	r->calls += (int)o.calls;
	for (size_t i = 0; i < o.requirements.n; i++)
		if (!strv_has(&r->requirements, o.requirements.v[i]))
			strv_push(&r->requirements, o.requirements.v[i]);
	if (o.changed)
		r->changed++;
	if (r->diff && o.changed)
		show_diff(name, &src, &o.text);
	if (r->check) {
		if (o.changed)
			printf("%s\n", name);
		goto out;
	}
	if (r->diff)
		goto out;
	if (!out) {
		fwrite(o.text.ptr, 1, o.text.len, stdout);
	} else if (o.changed || strcmp(out, in ? in : "")) {
		FILE *f = fopen(out, "wb");
		if (!f || fwrite(o.text.ptr, 1, o.text.len, f) != o.text.len) {
			fprintf(stderr, "error: %s: cannot write: %s\n", out, strerror(errno));
			r->failed++;
		}
		if (f && fclose(f)) {
			fprintf(stderr, "error: %s: cannot write: %s\n", out, strerror(errno));
			r->failed++;
		}
	}
	if (r->verbose && o.changed)
		fprintf(stderr, "transformed %s (%zu call%s)\n", name, o.calls, o.calls == 1 ? "" : "s");
out:
	transform_output_release(&o);
	buf_release(&src);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.py under dir (relative paths, sorted), skipping hidden directories and virtualenvs'
 * site-packages and __pycache__. */
static void walk(const char *root, const char *rel, struct strv *out)
{
	char *path = rel[0] ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *dh = opendir(path);
	if (!dh) {
		free(path);
		return;
	}
	struct dirent *de;
	while ((de = readdir(dh))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "__pycache__") || !strcmp(de->d_name, "site-packages") ||
		    !strcmp(de->d_name, "node_modules"))
			continue;
		char *r = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		char *full = xasprintf("%s/%s", root, r);
		struct stat st;
		if (!lstat(full, &st) && S_ISDIR(st.st_mode))
			walk(root, r, out);
		else if (!lstat(full, &st) && S_ISREG(st.st_mode) && ends_with(de->d_name, ".py"))
			strv_push(out, r);
		free(full);
		free(r);
	}
	closedir(dh);
	free(path);
}

/* Copy the input's requirements.txt (if any) to out with the collected requirements not yet
 * named in it appended. */
static int write_requirements(struct run *r, const char *indir, const char *outdir)
{
	struct buf b = BUF_INIT;
	char *in = indir ? xasprintf("%s/requirements.txt", indir) : NULL;
	char *out = xasprintf("%s/requirements.txt", outdir);
	if (in && access(in, F_OK) == 0 && buf_read_file(&b, in, 1 << 20)) {
		fprintf(stderr, "error: %s: cannot read: %s\n", in, strerror(errno));
		free(in);
		free(out);
		return -1;
	}
	bool added = false;
	for (size_t i = 0; i < r->requirements.n; i++) {
		const char *req = r->requirements.v[i];
		size_t pl = strcspn(req, "<>=!~[ ");
		/* already required (any version)? a line starting with the package name */
		bool have = false;
		for (const char *line = b.ptr; line && *line;) {
			if (!strncasecmp(line, req, pl) && strchr("<>=!~[ \n\r;", line[pl] ? line[pl] : '\n'))
				have = true;
			const char *nl = strchr(line, '\n');
			line = nl ? nl + 1 : NULL;
		}
		if (have)
			continue;
		if (!added) {
			if (b.len && b.ptr[b.len - 1] != '\n')
				buf_addch(&b, '\n');
			buf_addf(&b, "# added by cratis transform --provider %s\n", r->provider);
			added = true;
		}
		buf_addf(&b, "%s\n", req);
	}
	int rc = 0;
	if (added || (in && access(in, F_OK) == 0 && strcmp(in, out))) {
		FILE *f = fopen(out, "wb");
		if (!f || fwrite(b.ptr, 1, b.len, f) != b.len || fclose(f)) {
			fprintf(stderr, "error: %s: cannot write: %s\n", out, strerror(errno));
			rc = -1;
		}
	}
	free(in);
	free(out);
	buf_release(&b);
	return rc;
}

int cmd_transform(int argc, char **argv, struct cli_ctx *ctx)
{
	/* flags: ctx, parsed from the command table */
	(void)argc;
	(void)argv;
	const char *provider = ctx->provider, *in = ctx->input, *out = ctx->out_path;
	struct run r = { .ctx = ctx, .check = ctx->check, .diff = ctx->diff };
	const struct strv *rules_paths = &ctx->rules;
	int rc = EXIT_USAGE;
	if (!transform_provider_known(provider)) {
		fprintf(stderr, "error: --provider: expected aws, gcp or azure%s%s%s\nusage: cratis %s\n",
		        provider ? ", got '" : "", provider ? provider : "", provider ? "'" : "", USAGE);
		goto out;
	}
	r.provider = provider;
	r.verbose = ctx->verbose;
	r.deny_lock_in = ctx->deny_lock_in;
	/* rules: --rules, then $CRATIS_RULES_PATH, then the installed and the source tree's plugins */
	struct buf path = BUF_INIT;
	for (size_t i = 0; i < rules_paths->n; i++)
		buf_addf(&path, "%s:", rules_paths->v[i]);
	if (!rules_paths->n) {
		const char *env = getenv("CRATIS_RULES_PATH");
		if (env && *env)
			buf_addf(&path, "%s:", env);
		buf_adds(&path, transform_default_rules_path());
	}
	struct transform_rules *rules = transform_rules_new();
	struct diags d = DIAGS_INIT;
	size_t loaded = 0;
	int lrc = transform_rules_load_path(rules, path.ptr, &loaded, &d);
	print_errors(ctx, &d);
	diags_release(&d);
	if (lrc || !loaded) {
		if (!lrc)
			fprintf(stderr, "error: no transformation rules found in '%s' (plugins/<name>/transformations/rules.yaml)\n", path.ptr);
		buf_release(&path);
		transform_rules_free(rules);
		rc = EXIT_ERROR;
		goto out;
	}
	buf_release(&path);
	r.rules = rules;
	rc = EXIT_OK;
	if (in && is_dir(in)) {
		if (out && !is_dir(out) && mkdir_p(out)) {
			fprintf(stderr, "error: %s: cannot create directory: %s\n", out, strerror(errno));
			rc = EXIT_ERROR;
			goto out_rules;
		}
		if (!out && !r.check && !r.diff) {
			fprintf(stderr, "error: -i DIR needs -o DIR (or --check / --diff); to rewrite in place give -o with the same directory\n");
			rc = EXIT_USAGE;
			goto out_rules;
		}
		struct strv files = STRV_INIT;
		walk(in, "", &files);
		if (files.n)
			qsort(files.v, files.n, sizeof(char *), cmp_str);
		for (size_t i = 0; i < files.n; i++) {
			char *src = xasprintf("%s/%s", in, files.v[i]);
			char *dst = out ? xasprintf("%s/%s", out, files.v[i]) : NULL;
			if (dst) {
				char *slash = strrchr(dst, '/');
				*slash = '\0';
				mkdir_p(dst);
				*slash = '/';
			}
			one(&r, src, dst);
			free(src);
			free(dst);
		}
		strv_release(&files);
		if (out && !r.check && !r.diff && !r.failed && write_requirements(&r, in, out))
			r.failed++;
	} else {
		if (out && is_dir(out)) {
			const char *base = in ? strrchr(in, '/') : NULL;
			char *dst = xasprintf("%s/%s", out, base ? base + 1 : in ? in : "stdin.py");
			one(&r, in, dst);
			if (!r.check && !r.diff && !r.failed && write_requirements(&r, NULL, out))
				r.failed++;
			free(dst);
		} else {
			one(&r, in, out);
		}
		if (r.requirements.n && !r.check && !r.diff && !(out && is_dir(out)))
			for (size_t i = 0; i < r.requirements.n; i++)
				fprintf(stderr, "requirement: %s\n", r.requirements.v[i]);
	}
	if (r.failed)
		rc = EXIT_ERROR;
	else if (r.check && r.changed)
		rc = EXIT_ERROR; /* like terraform fmt -check: 1 when something would change */
	if (ctx->verbose)
		fprintf(stderr, "%d file%s, %d changed, %d call%s rewritten for %s\n", r.files, r.files == 1 ? "" : "s",
		        r.changed, r.calls, r.calls == 1 ? "" : "s", provider);
out_rules:
	transform_rules_free(rules);
out:
	strv_release(&r.requirements);
	return rc;
}
