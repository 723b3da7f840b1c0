/* Semantic versions and ranges (see semver.h). */
#define _GNU_SOURCE
#include "semver.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

/* ---- versions ---- */

static bool is_ident_char(char c)
{
	return isascii((unsigned char)c) && (isalnum((unsigned char)c) || c == '-');
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n > 0;
}

/* Numeric component at *p: digits, no leading zero. */
static int parse_num(const char **p, uint64_t *out, const char *what, const char *s)
{
	const char *q = *p;
	if (!isdigit((unsigned char)*q))
		return error_set(CRATIS_EINVAL, "'%s': expected a number for the %s version", s, what);
	if (q[0] == '0' && isdigit((unsigned char)q[1]))
		return error_set(CRATIS_EINVAL, "'%s': %s version has a leading zero", s, what);
	errno = 0;
	char *end;
	unsigned long long v = strtoull(q, &end, 10);
	if (errno)
		return error_set(CRATIS_EINVAL, "'%s': %s version is too large", s, what);
	*out = v;
	*p = end;
	return 0;
}

/* Dot-separated identifiers [0-9A-Za-z-]+; numeric ones without leading zeros when strict_num. */
static int check_idents(const char *s, size_t n, bool strict_num, const char *what, const char *full)
{
	if (!n)
		return error_set(CRATIS_EINVAL, "'%s': empty %s", full, what);
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!is_ident_char(s[i]))
				return error_set(CRATIS_EINVAL, "'%s': %s may only hold [0-9A-Za-z-] and dots", full, what);
			continue;
		}
		size_t len = i - start;
		if (!len)
			return error_set(CRATIS_EINVAL, "'%s': empty identifier in %s", full, what);
		if (strict_num && len > 1 && s[start] == '0' && all_digits(s + start, len))
			return error_set(CRATIS_EINVAL, "'%s': numeric %s identifier has a leading zero", full, what);
		start = i + 1;
	}
	return 0;
}

int semver_parse(struct semver *out, const char *s)
{
	memset(out, 0, sizeof(*out));
	const char *p = s;
	if (parse_num(&p, &out->major, "major", s))
		return CRATIS_EINVAL;
	if (*p != '.')
		return error_set(CRATIS_EINVAL, "'%s': expected MAJOR.MINOR.PATCH", s);
	p++;
	if (parse_num(&p, &out->minor, "minor", s))
		return CRATIS_EINVAL;
	if (*p != '.')
		return error_set(CRATIS_EINVAL, "'%s': expected MAJOR.MINOR.PATCH", s);
	p++;
	if (parse_num(&p, &out->patch, "patch", s))
		return CRATIS_EINVAL;
	if (*p == '-') {
		p++;
		size_t n = strcspn(p, "+");
		if (check_idents(p, n, true, "pre-release", s))
			return CRATIS_EINVAL;
		out->prerelease = xstrndup(p, n);
		p += n;
		/* Maven and Nexus only know the uppercase label */
		const char *id = out->prerelease;
		while (id && *id) {
			size_t len = strcspn(id, ".");
			if (len == 8 && !strncasecmp(id, "snapshot", 8) && strncmp(id, "SNAPSHOT", 8)) {
				error_set(CRATIS_EINVAL, "'%s': write SNAPSHOT in uppercase (Maven and Nexus reject '%.*s')", s, (int)len, id);
				semver_release(out);
				return CRATIS_EINVAL;
			}
			id += len + (id[len] == '.');
		}
	}
	if (*p == '+') {
		p++;
		size_t n = strlen(p);
		if (check_idents(p, n, false, "build metadata", s)) {
			semver_release(out);
			return CRATIS_EINVAL;
		}
		out->build = xstrdup(p);
		p += n;
	}
	if (*p) {
		error_set(CRATIS_EINVAL, "'%s': unexpected '%c' after the version", s, *p);
		semver_release(out);
		return CRATIS_EINVAL;
	}
	return 0;
}

void semver_release(struct semver *v)
{
	free(v->prerelease);
	free(v->build);
	v->prerelease = v->build = NULL;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* Section 11.4: identifiers compared numerically when both are numeric, numeric ones lower,
 * otherwise ASCII order; a shorter list of equal prefix is lower. */
static int cmp_prerelease(const char *a, const char *b)
{
	while (*a && *b) {
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");
		bool na = all_digits(a, la), nb = all_digits(b, lb);
		int c;
		if (na && nb)
			c = la != lb ? (la < lb ? -1 : 1) : memcmp(a, b, la);
		else if (na != nb)
			c = na ? -1 : 1;
		else {
			c = memcmp(a, b, la < lb ? la : lb);
			if (!c)
				c = cmp_u64(la, lb);
		}
		if (c)
			return c < 0 ? -1 : 1;
		a += la + (a[la] == '.');
		b += lb + (b[lb] == '.');
	}
	return *a ? 1 : *b ? -1 : 0;
}

int semver_compare(const struct semver *a, const struct semver *b)
{
	int c = cmp_u64(a->major, b->major);
	if (!c)
		c = cmp_u64(a->minor, b->minor);
	if (!c)
		c = cmp_u64(a->patch, b->patch);
	if (c)
		return c;
	/* 11.3: a pre-release is lower than the normal version */
	if (!a->prerelease || !b->prerelease)
		return a->prerelease ? -1 : b->prerelease ? 1 : 0;
	return cmp_prerelease(a->prerelease, b->prerelease);
}

char *semver_format(const struct semver *v)
{
	struct buf b = BUF_INIT;
	buf_addf(&b, "%llu.%llu.%llu", (unsigned long long)v->major, (unsigned long long)v->minor,
	         (unsigned long long)v->patch);
	if (v->prerelease)
		buf_addf(&b, "-%s", v->prerelease);
	if (v->build)
		buf_addf(&b, "+%s", v->build);
	return buf_detach(&b);
}

bool semver_is_snapshot(const struct semver *v)
{
	return v->prerelease && !strcmp(v->prerelease, "SNAPSHOT");
}

/* ---- ranges ---- */

enum op { OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_ANY, OP_NONE };

struct comparator {
	enum op op;
	struct semver v;
};

struct cset {
	struct comparator *c;
	size_t n, alloc;
};

struct semver_range {
	struct cset *sets;
	size_t n, alloc;
};

/* A partial version: numbers or wildcards for the missing/x parts. */
struct partial {
	uint64_t num[3];
	int given;          /* how many leading parts are numbers (0..3) */
	char *prerelease;   /* only with 3 given */
};

static bool is_x(const char *s, size_t n)
{
	return n == 1 && (*s == 'x' || *s == 'X' || *s == '*');
}

static int parse_partial(const char *s, size_t n, struct partial *pt)
{
	memset(pt, 0, sizeof(*pt));
	char *t = xstrndup(s, n);
	char *p = t;
	while (*p == 'v' || *p == '=')
		p++;
	/* strip build metadata: it never matters for ranges */
	char *plus = strchr(p, '+');
	if (plus)
		*plus = '\0';
	int rc = 0;
	if (!*p) {
		free(t);
		return 0; /* "" is "*" */
	}
	for (int i = 0; i < 3 && *p; i++) {
		size_t len = strcspn(p, ".-");
		if (is_x(p, len)) {
			p += len;
			pt->given = i;
			goto out_rest;
		}
		if (!all_digits(p, len) || (len > 1 && p[0] == '0')) {
			error_set(CRATIS_EINVAL, "'%.*s': expected a version number, 'x' or '*'", (int)n, s);
			rc = CRATIS_EINVAL;
			goto out_free;
		}
		pt->num[i] = strtoull(p, NULL, 10);
		pt->given = i + 1;
		p += len;
		if (*p == '.')
			p++;
		else
			break;
	}
out_rest:
	if (*p == '-' && pt->given == 3) {
		struct semver tmp;
		char *vs = xasprintf("0.0.0%s", p);
		if (semver_parse(&tmp, vs)) {
			error_set(CRATIS_EINVAL, "'%.*s': invalid pre-release", (int)n, s);
			free(vs);
			rc = CRATIS_EINVAL;
			goto out_free;
		}
		pt->prerelease = tmp.prerelease;
		tmp.prerelease = NULL;
		semver_release(&tmp);
		free(vs);
	} else if (*p == '.' && pt->given < 3) {
		/* "1.x.x": the rest must be wildcards too */
		while (*p == '.' && is_x(p + 1, strcspn(p + 1, ".")))
			p += 2;
		if (*p) {
			error_set(CRATIS_EINVAL, "'%.*s': unexpected '%s'", (int)n, s, p);
			rc = CRATIS_EINVAL;
		}
	} else if (*p) {
		error_set(CRATIS_EINVAL, "'%.*s': unexpected '%s'", (int)n, s, p);
		rc = CRATIS_EINVAL;
	}
out_free:
	free(t);
	return rc;
}

static void add(struct cset *set, enum op op, uint64_t M, uint64_t m, uint64_t p, const char *pre)
{
	ALLOC_GROW(set->c, set->n + 1, set->alloc);
	struct comparator *c = &set->c[set->n++];
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->v.major = M;
	c->v.minor = m;
	c->v.patch = p;
	c->v.prerelease = pre ? xstrdup(pre) : NULL;
}

/* Lower bound >= the partial's smallest version. */
static void add_lower(struct cset *set, const struct partial *pt)
{
	if (pt->given == 0)
		add(set, OP_ANY, 0, 0, 0, NULL);
	else
		add(set, OP_GE, pt->num[0], pt->given > 1 ? pt->num[1] : 0, pt->given > 2 ? pt->num[2] : 0, pt->prerelease);
}

/* Upper bound < the first version past the partial ("1.2" -> <1.3.0-0). */
static void add_upper_excl(struct cset *set, const struct partial *pt)
{
	if (pt->given == 1)
		add(set, OP_LT, pt->num[0] + 1, 0, 0, "0");
	else if (pt->given == 2)
		add(set, OP_LT, pt->num[0], pt->num[1] + 1, 0, "0");
}

static int add_comparator(struct cset *set, const char *op, const struct partial *pt)
{
	int g = pt->given;
	const uint64_t *n = pt->num;
	if (!*op || !strcmp(op, "=")) {
		if (g == 3)
			add(set, OP_EQ, n[0], n[1], n[2], pt->prerelease);
		else {
			add_lower(set, pt);
			add_upper_excl(set, pt);
		}
	} else if (!strcmp(op, "~")) {
		add_lower(set, pt);
		if (g == 3)
			add(set, OP_LT, n[0], n[1] + 1, 0, "0");
		else
			add_upper_excl(set, pt);
	} else if (!strcmp(op, "^")) {
		add_lower(set, pt);
		if (g == 0)
			;
		else if (n[0] > 0 || g == 1)
			add(set, OP_LT, n[0] + 1, 0, 0, "0");
		else if (g == 2 || n[1] > 0)
			add(set, OP_LT, 0, n[1] + 1, 0, "0");
		else
			add(set, OP_LT, 0, 0, n[2] + 1, "0");
	} else if (g == 0) {
		add(set, !strcmp(op, "<") || !strcmp(op, ">") ? OP_NONE : OP_ANY, 0, 0, 0, NULL);
	} else if (g == 3) {
		enum op o = !strcmp(op, "<") ? OP_LT : !strcmp(op, "<=") ? OP_LE : !strcmp(op, ">") ? OP_GT : OP_GE;
		add(set, o, n[0], n[1], n[2], pt->prerelease);
	} else if (!strcmp(op, ">=")) {
		add_lower(set, pt);
	} else if (!strcmp(op, ">")) {
		if (g == 1)
			add(set, OP_GE, n[0] + 1, 0, 0, NULL);
		else
			add(set, OP_GE, n[0], n[1] + 1, 0, NULL);
	} else if (!strcmp(op, "<")) {
		add(set, OP_LT, n[0], g > 1 ? n[1] : 0, 0, "0");
	} else { /* <= */
		add_upper_excl(set, pt);
	}
	return 0;
}

static void free_set(struct cset *set)
{
	for (size_t i = 0; i < set->n; i++)
		semver_release(&set->c[i].v);
	free(set->c);
}

void semver_range_free(struct semver_range *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free_set(&r->sets[i]);
	free(r->sets);
	free(r);
}

static int parse_set(struct cset *set, const char *s, size_t n)
{
	char *t = xstrndup(s, n);
	int rc = 0;
	/* hyphen range "A - B" */
	char *dash = strstr(t, " - ");
	if (dash) {
		char *a = t, *b = dash + 3;
		*dash = '\0';
		while (*a == ' ' || *a == '\t')
			a++;
		while (*b == ' ' || *b == '\t')
			b++;
		size_t la = strcspn(a, " \t"), lb = strcspn(b, " \t");
		struct partial pa, pb;
		if (parse_partial(a, la, &pa)) {
			rc = CRATIS_EINVAL;
			goto out_free;
		}
		if (parse_partial(b, lb, &pb)) {
			free(pa.prerelease);
			rc = CRATIS_EINVAL;
			goto out_free;
		}
		add_lower(set, &pa);
		if (pb.given == 3)
			add(set, OP_LE, pb.num[0], pb.num[1], pb.num[2], pb.prerelease);
		else
			add_upper_excl(set, &pb);
		free(pa.prerelease);
		free(pb.prerelease);
		goto out_free;
	}
	for (char *p = t; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		char op[3] = "";
		size_t k = 0;
		while (*p && strchr("<>=~^", *p) && k < 2)
			op[k++] = *p++;
		op[k] = '\0';
		if (*p == '>' && op[0] == '~')
			p++; /* "~>" is "~" */
		if (strcmp(op, "") && strcmp(op, "=") && strcmp(op, "<") && strcmp(op, "<=") && strcmp(op, ">") &&
		    strcmp(op, ">=") && strcmp(op, "~") && strcmp(op, "^") && strcmp(op, "~>")) {
			error_set(CRATIS_EINVAL, "'%s': unknown operator '%s'", t, op);
			rc = CRATIS_EINVAL;
			break;
		}
		if (!strcmp(op, "~>"))
			op[1] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strcspn(p, " \t,");
		struct partial pt;
		if (parse_partial(p, len, &pt)) {
			rc = CRATIS_EINVAL;
			break;
		}
		add_comparator(set, op, &pt);
		free(pt.prerelease);
		p += len;
	}
out_free:
	free(t);
	return rc;
}

int semver_range_parse(struct semver_range **out, const char *s)
{
	struct semver_range *r = xcalloc(1, sizeof(*r));
	const char *p = s;
	for (;;) {
		const char *bar = strstr(p, "||");
		size_t n = bar ? (size_t)(bar - p) : strlen(p);
		ALLOC_GROW(r->sets, r->n + 1, r->alloc);
		struct cset *set = &r->sets[r->n++];
		memset(set, 0, sizeof(*set));
		if (parse_set(set, p, n)) {
			error_prefix("invalid range '%s'", s);
			semver_range_free(r);
			return CRATIS_EINVAL;
		}
		if (!set->n)
			add(set, OP_ANY, 0, 0, 0, NULL);
		if (!bar)
			break;
		p = bar + 2;
	}
	*out = r;
	return 0;
}

static bool test_cmp(const struct comparator *c, const struct semver *v)
{
	int k = semver_compare(v, &c->v);
	switch (c->op) {
	case OP_LT: return k < 0;
	case OP_LE: return k <= 0;
	case OP_GT: return k > 0;
	case OP_GE: return k >= 0;
	case OP_EQ: return k == 0;
	case OP_ANY: return true;
	case OP_NONE: return false;
	}
	return false;
}

static bool test_set(const struct cset *set, const struct semver *v)
{
	for (size_t i = 0; i < set->n; i++)
		if (!test_cmp(&set->c[i], v))
			return false;
	if (!v->prerelease)
		return true;
	/* a pre-release only matches where a comparator names one of the same version */
	for (size_t i = 0; i < set->n; i++) {
		const struct comparator *c = &set->c[i];
		if (c->op == OP_ANY || !c->v.prerelease)
			continue;
		if (c->v.major == v->major && c->v.minor == v->minor && c->v.patch == v->patch)
			return true;
	}
	return false;
}

bool semver_range_satisfies(const struct semver_range *r, const struct semver *v)
{
	for (size_t i = 0; i < r->n; i++)
		if (test_set(&r->sets[i], v))
			return true;
	return false;
}
