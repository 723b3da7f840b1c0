/* Plugin installation: `cratis plugin install` and Project spec.plugins (docs/plugins.md,
 * "Installing plugins"). A plugin ships as a .tar.gz of a shared object or of an exec plugin
 * folder (plugin.yaml), read from a path or downloaded over http(s) with libcurl (opened on first
 * use), checked (sha256, member names, ABI, dependency ranges) before it is moved into a plugin
 * directory, replacing an older version with one rename. A lock file (.cratis/plugins.lock,
 * JSON, like Terraform's .terraform.lock.hcl) records what a project installed. */
#ifndef CRATIS_PLUGIN_INSTALL_H
#define CRATIS_PLUGIN_INSTALL_H

#include <jansson.h>
#include <stdbool.h>

#include "util/diag.h"

/* Largest archive read or downloaded, in bytes. */
#define PLUGIN_ARCHIVE_MAX (256u << 20)

struct plugin_install_opts {
	const char *source;        /* a path or an http(s):// URL of a .tar.gz (borrowed) */
	const char *sha256;        /* expected SHA-256 of the archive, 64 hex digits, or NULL */
	const char *dest;          /* the plugin directory installed into; created (0755) when missing */
	const char *project_dir;   /* the project whose plugin path the dependencies are checked
	                            * against (registry_default_dirs), or NULL */
	const char *want_name;     /* NULL, or the name the plugin must have (spec.plugins) */
	const char *want_range;    /* NULL, or a semver range its version must satisfy */
};

/* What was installed: heap strings, release with plugin_installed_release. */
struct plugin_installed {
	char *name, *version;
	char *sha256;              /* of the archive, hex */
	char *path;                /* DEST/NAME, the installed plugin */
	char *replaced;            /* the version replaced, or NULL when none was installed */
};
/* Free p's strings and zero it (the struct itself is the caller's). */
void plugin_installed_release(struct plugin_installed *p);

/* Install o->source into o->dest/NAME. The archive is read (or downloaded: HTTP status >= 400
 * and transfers over PLUGIN_ARCHIVE_MAX fail), its SHA-256 compared with o->sha256, its members
 * listed with tar(1) and refused when a name is absolute or has a ".." component or a member is
 * a link, then unpacked into a staging directory under o->dest. The plugin is the archive's root
 * or its single top directory, holding plugin.yaml or *.so files. It is loaded in a scratch
 * registry (its ABI checked as the loader does) together with the rest of the plugin path (this
 * plugin shadowing its older version) and every dependency range involving it is checked. Only
 * then is it moved to o->dest/NAME: by renameat2(RENAME_EXCHANGE) over an older version (which
 * is then removed), so that a reader sees the old or the new version, never a mix.
 * Every problem is appended to errors. Returns CRATIS_OK with *out filled; CRATIS_EINVAL for a
 * checksum mismatch ("sha256 mismatch for 'SRC': expected X, got Y"), a refused member, an
 * archive holding no plugin, a name or version other than o->want_*; CRATIS_EABI or
 * CRATIS_EPLUGIN when loading or a dependency check fails; CRATIS_EIO when the source cannot be
 * read or downloaded, tar fails or the directory cannot be written; CRATIS_ENOTFOUND when
 * libcurl is needed and cannot be loaded. Nothing under o->dest changes on error. */
int plugin_install(const struct plugin_install_opts *o, struct plugin_installed *out, struct diags *errors);

/* Remove the plugin NAME from dir: dir/NAME (a folder) or dir/NAME.so / dir/cratis-NAME.so.
 * Returns CRATIS_OK; CRATIS_ENOTFOUND when dir holds no such plugin, CRATIS_EIO when it cannot
 * be removed (last error set). */
int plugin_remove(const char *dir, const char *name);

/* The user's plugin directory for --global installs: $XDG_DATA_HOME/cratis/plugins, else
 * $HOME/.local/share/cratis/plugins; NULL when neither variable is set. Heap, caller frees. */
char *plugin_user_dir(void);

/* Read the lock file at path into *out (new reference): {"plugins": {NAME: {version, source,
 * sha256}}}; a missing file gives an empty lock. Returns CRATIS_OK; CRATIS_EINVAL when the file
 * is not such JSON, CRATIS_EIO when it cannot be read (last error names path). */
int plugin_lock_read(json_t **out, const char *path);
/* Set name's entry of the lock at path (created when missing) to {version, source, sha256} (all
 * borrowed, copied) and write the file atomically (temporary file in the same directory, rename;
 * keys sorted, 2-space indent). Returns CRATIS_OK, the error of plugin_lock_read, or CRATIS_EIO
 * when it cannot be written (last error set). */
int plugin_lock_set(const char *path, const char *name, const char *version, const char *source,
                    const char *sha256);
/* Drop name's entry from the lock at path and write it as plugin_lock_set does; nothing is
 * written when there is no such entry (nor file). Returns as plugin_lock_set. */
int plugin_lock_remove(const char *path, const char *name);

#endif
