/* Project secrets: the providers that give a ${secret:NAME} its value (env, file, command) and
 * the keyed hash that stands for a sensitive value wherever cratis records or shows a spec. */
#ifndef CRATIS_SECRET_H
#define CRATIS_SECRET_H

#include <jansson.h>
#include <stddef.h>

/* Prefix of the redacted form of a string that took a secret or a sensitive value:
 * "(sensitive) hmac-sha256:<64 hex digits>". */
#define SECRET_REDACTED "(sensitive)"

struct secret_store;

/* A store for one plan and its apply: statedir is the absolute .cratis directory (the hash key
 * lives there, see secret_store_redact), workdir the project directory (relative file paths and
 * commands start there), timeout_ms the deadline of a command provider (0 = 30 s). Both strings
 * are copied. Never fails (allocation failure aborts, util.h). Free with secret_store_free. */
struct secret_store *secret_store_new(const char *statedir, const char *workdir, int timeout_ms);

/* Wipe every cached value and free s (NULL is a no-op). */
void secret_store_free(struct secret_store *s);

/* The value of secret name of project, whose definitions are defs (the Project's spec.secrets,
 * or NULL when it declares none): {env: VAR}, {file: PATH} (the file's content without one
 * trailing newline) or {command: [argv...]} (its stdout without one trailing newline; it must
 * exit 0 within the deadline). Each value is read once per store. Thread-safe. Sets *out to a
 * heap string (the caller wipes and frees it) and returns CRATIS_OK, or returns
 * CRATIS_ENOTFOUND (not declared, the variable is not set, the file is missing), CRATIS_EINVAL
 * (a malformed definition, a value that is empty or not valid UTF-8), CRATIS_EIO (a command that
 * could not start, failed or timed out) with the last error set; no message ever contains the
 * value, nor a command's output. */
int secret_store_get(struct secret_store *s, char **out, const json_t *defs, const char *project,
                     const char *name);

/* The redacted form of value (len bytes): SECRET_REDACTED " hmac-sha256:" + HMAC-SHA256 of the
 * value under the state's key (SHA-256 and HMAC implemented here: the core does not link
 * libcrypto), so that a changed value still changes the recorded spec. The
 * key is 32 random bytes in statedir/secret.key (created 0600 on first use; a state directory
 * copied elsewhere keeps its hashes). Thread-safe. Sets *out (caller frees), returns CRATIS_OK,
 * or CRATIS_EIO with the last error set when the key cannot be read or created. */
int secret_store_redact(struct secret_store *s, char **out, const char *value, size_t len);

/* Add value (a sensitive value read elsewhere, e.g. a sensitive variable's) to the values that
 * secret_store_scrub hides. Thread-safe; value is copied. */
void secret_store_remember(struct secret_store *s, const char *value);

/* A copy of text with every value this store has read or remembered that is at least
 * SECRET_SCRUB_MIN bytes long replaced by SECRET_REDACTED, or NULL when none occurs (text
 * stays). For what a plugin says back (errors, log lines, events), which may quote a value it
 * was given. Thread-safe; the caller frees the copy. */
/* The SHA-256 (FIPS 180-4) of data (len bytes) as 64 lowercase hex digits and a NUL in out. For
 * digests that are not secret (saved plans record those of the manifests and state rows). */
void secret_sha256_hex(char out[65], const void *data, size_t len);

#define SECRET_SCRUB_MIN 4
char *secret_store_scrub(struct secret_store *s, const char *text);

#endif
