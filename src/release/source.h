/* Where a project's version comes from: pom.xml (/project/version, else /project/parent/version;
 * Maven POM 4.0.0, read with libxml2, ${property} references resolved from /project/properties),
 * package.json (top-level "version"; npm package.json docs), or a plain VERSION file. */
#ifndef CRATIS_SOURCE_H
#define CRATIS_SOURCE_H

#include "release/semver.h"

struct version_source {
	char *file;      /* path of the file read */
	int line;        /* 1-based line of the version in it */
	char *text;      /* the version as written (after property resolution) */
};

/* Read the version of the project in dir: from file when given (relative to dir), else the first
 * of pom.xml, package.json, VERSION that exists. Fills *src and *v (release both with
 * version_source_release and semver_release). Returns 0, or -1 with *err a heap message naming
 * the file and line: missing source, unreadable file, no version element, or a version that is
 * not a semantic version. */
int version_read(const char *dir, const char *file, struct version_source *src, struct semver *v,
                 char **err);
void version_source_release(struct version_source *src);

#endif
