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
 * version_source_release and semver_release). Returns CRATIS_OK (0), or a negative status with
 * *src and *v left empty and the last error (util/error.h) naming the file and, where known,
 * the line:
 *   CRATIS_ENOTFOUND  no version source, the named file is missing, no version element or key,
 *                     or libxml2 cannot be loaded (the message names the package to install);
 *   CRATIS_EIO        the file cannot be read (or a VERSION file is over 4 KiB);
 *   CRATIS_EINVAL     not well-formed XML or JSON, an undefined ${property}, an empty VERSION
 *                     file, or "FILE:LINE: version is not a semantic version: <semver problem>". */
int version_read(const char *dir, const char *file, struct version_source *src, struct semver *v);
void version_source_release(struct version_source *src);

#endif
