/* Semantic Versioning 2.0.0 (https://semver.org/spec/v2.0.0.html): parse, compare (precedence,
 * section 11), print; and version ranges with the syntax of node-semver (npm's semver package,
 * README "Ranges"): comparators, `||`, hyphen ranges, x-ranges, `~`, `^`, with `,` accepted as
 * the AND separator as well (`>=1.2.0, <2`). SNAPSHOT is a pre-release label, uppercase only. */
#ifndef CRATIS_SEMVER_H
#define CRATIS_SEMVER_H

#include <stdbool.h>
#include <stdint.h>

struct semver {
	uint64_t major, minor, patch;
	char *prerelease;   /* "alpha.1", or NULL; heap */
	char *build;        /* "exp.sha.5114f85", or NULL; heap */
};

/* Parse s strictly (no "v" prefix, no surrounding space). On success fills *out (release with
 * semver_release) and returns CRATIS_OK (0); otherwise returns CRATIS_EINVAL with *out left
 * empty and the last error (util/error.h) naming the problem ("'1.02.3': minor version has a
 * leading zero"). */
int semver_parse(struct semver *out, const char *s);
void semver_release(struct semver *v);
/* Precedence: <0, 0, >0 as a is lower than, equal to (build metadata ignored), higher than b. */
int semver_compare(const struct semver *a, const struct semver *b);
/* "1.2.3-rc.1+build"; caller frees. */
char *semver_format(const struct semver *v);
/* True for a SNAPSHOT version (pre-release "SNAPSHOT"). */
bool semver_is_snapshot(const struct semver *v);

struct semver_range;

/* Parse a range ("^1.2", ">=1.2.0, <2", "1.x || >=2.5.0", "1.2 - 2.3.4", "" = any). Returns
 * CRATIS_OK (0) with *out (free with semver_range_free), or CRATIS_EINVAL with *out untouched
 * and the last error "invalid range 'S': <problem>" (util/error.h). */
int semver_range_parse(struct semver_range **out, const char *s);
/* True when v satisfies r. A pre-release version satisfies only a comparator set that names a
 * pre-release of the same MAJOR.MINOR.PATCH (node-semver's rule). */
bool semver_range_satisfies(const struct semver_range *r, const struct semver *v);
void semver_range_free(struct semver_range *r);

#endif
