/* Project secrets: the providers that give a ${secret:NAME} its value (env, file, command) and
 * the keyed hash that stands for a sensitive value wherever cratis records or shows a spec. */
#ifndef CRATIS_SECRET_H
#define CRATIS_SECRET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Prefix of the redacted form of a string that took a secret or a sensitive value:
 * "(sensitive) hmac-sha256:<64 hex digits>". */
#define SECRET_REDACTED "(sensitive)"

struct secret_store;

/* A store for one plan and its apply: statedir is the absolute .cratis directory, workdir the
 * project directory (relative file paths and commands start there), timeout_ms the deadline of
 * a command provider (0 = 30 s), key_file the file holding the key of hashes and sealed values
 * (NULL: statedir/secret.key, created on first use; a key_file given is never created: a team
 * that shares state shares it out of band). Strings are copied. Never fails (allocation failure
 * aborts, util.h). Free with secret_store_free. */
struct secret_store *secret_store_new(const char *statedir, const char *workdir, int timeout_ms,
                                      const char *key_file);

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

/* The redacted form of value (len bytes): SECRET_REDACTED " hmac-sha256:" + HMAC-SHA256 (RFC
 * 2104, libcrypto opened on first use) of the value under the state's key, so that a changed
 * value still changes the recorded spec. The key is 32 random bytes in the store's key file
 * (statedir/secret.key is created 0600 on first use; a state directory copied elsewhere keeps
 * its hashes).
 * Thread-safe. Sets *out (caller frees), returns CRATIS_OK, or CRATIS_EIO when the key cannot
 * be read or created, CRATIS_ENOTFOUND when libcrypto cannot be loaded (the message names its
 * Debian package), with the last error set. */
int secret_store_redact(struct secret_store *s, char **out, const char *value, size_t len);

/* Marker in the recorded form of a sealed value (see secret_store_seal). */
#define SECRET_SEALED " sealed:v1:"

/* The recorded form of a sensitive output: its redacted form (secret_store_redact over the
 * compact JSON of value) followed by SECRET_SEALED and base64(nonce || ciphertext || tag) of
 * that JSON under AES-256-GCM (NIST SP 800-38D; 12-byte random nonce, 16-byte tag) with a key
 * derived from the state's key (HMAC-SHA256(key, "cratis seal v1")), so that state holds no
 * clear value and a later run can still hand the value to the resources that use it. value is
 * borrowed. Thread-safe. Sets *out (caller frees), returns CRATIS_OK, or CRATIS_EIO (the key
 * cannot be read or created, no random bytes), CRATIS_ENOTFOUND (libcrypto cannot be loaded),
 * CRATIS_EINVAL (value not encodable) with the last error set. */
int secret_store_seal(struct secret_store *s, char **out, const json_t *value);

/* Whether text is the recorded form of a sealed value. */
bool secret_is_sealed(const char *text);

/* The value that secret_store_seal sealed into text: sets *out to a new JSON value (caller
 * decrefs; wipe strings it holds when done) and returns CRATIS_OK, or CRATIS_EINVAL (text is not
 * a sealed value, is malformed, or does not open with this state's key: another secret.key, or
 * altered), CRATIS_EIO / CRATIS_ENOTFOUND (key or libcrypto unavailable), with the last error
 * set; no message contains the value. Thread-safe. */
int secret_store_unseal(struct secret_store *s, json_t **out, const char *text);

/* A copy of v (any JSON; borrowed) in which every sealed string is cut to its redacted form
 * ("(sensitive) hmac-sha256:<hex>"): what state listings, outputs and plans show. Never fails
 * (allocation failure aborts); the caller decrefs. */
json_t *secret_public(const json_t *v);

/* Add value (a sensitive value read elsewhere, e.g. a sensitive variable's) to the values that
 * secret_store_scrub hides. Thread-safe; value is copied. */
void secret_store_remember(struct secret_store *s, const char *value);

/* The SHA-256 (FIPS 180-4, libcrypto opened on first use) of data (len bytes) as 64 lowercase
 * hex digits and a NUL in out. For digests that are not secret (saved plans record those of the
 * manifests and state rows). Returns CRATIS_OK, or CRATIS_ENOTFOUND when libcrypto cannot be
 * loaded (the message names its Debian package), with the last error set. */
int secret_sha256_hex(char out[65], const void *data, size_t len);

/* HMAC-SHA256 (RFC 2104; libcrypto opened on first use, the same loader as the rest of this
 * module) of data (len bytes) under key (klen bytes, klen > 0), as 32 raw bytes in out. For keyed
 * signatures that other modules compute (webhook_sign, src/events/sign.c). Thread-safe. Returns
 * CRATIS_OK, or CRATIS_ENOTFOUND when libcrypto cannot be loaded (the message names its Debian
 * package), CRATIS_ERROR when libcrypto fails, with the last error set. */
int secret_hmac_sha256(unsigned char out[32], const void *key, size_t klen, const void *data, size_t len);

/* A copy of text with every value this store has read or remembered that is at least
 * SECRET_SCRUB_MIN bytes long replaced by SECRET_REDACTED, or NULL when none occurs (text
 * stays). For what a plugin says back (errors, log lines, events), which may quote a value it
 * was given. Thread-safe; the caller frees the copy. */
#define SECRET_SCRUB_MIN 4
char *secret_store_scrub(struct secret_store *s, const char *text);

#endif
