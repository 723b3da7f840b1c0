/* Bearer tokens of `cratis serve` as records of the state store (src/app/tokens.h). */
#define _GNU_SOURCE /* explicit_bzero, getrandom */
#include "tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app_internal.h"
#include "error.h"
#include "secret/secret.h"
#include "state/store.h"
#include "buf.h"
#include "banned.h"

#define TOKENS_CAP (4 << 20)

static void hex(char *out, const unsigned char *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = 0;
}

static int random_hex(char *out, size_t nbytes)
{
	unsigned char b[64];
	if (nbytes > sizeof(b) || getrandom(b, nbytes, 0) != (ssize_t)nbytes)
		return error_set(CRATIS_EIO, "cannot read random bytes: %s", strerror(errno));
	hex(out, b, nbytes);
	return CRATIS_OK;
}

static void rfc3339(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int duration_parse(const char *text, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = text && *text ? strtoll(text, &end, 10) : -1;
	int64_t mult = 0;
	if (v > 0 && !errno && end[0] && !end[1])
		mult = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : end[0] == 'd' ? 86400 : 0;
	if (!mult || v > INT64_MAX / 86400)
		return error_set(CRATIS_EINVAL, "invalid duration '%s': expected a positive number and a unit (30s, 10m, 2h, 7d)",
		                 text ? text : "");
	*out = v * mult;
	return CRATIS_OK;
}

/* Read the tokens file: {"tokens": [...]}; a missing file is an empty list. */
static int tokens_read(const char *path, json_t **out)
{
	struct buf b = BUF_INIT;
	*out = NULL;
	if (buf_read_file(&b, path, TOKENS_CAP)) {
		if (errno == ENOENT) {
			buf_release(&b);
			*out = json_pack("{s:[]}", "tokens");
			return CRATIS_OK;
		}
		buf_release(&b);
		return error_set(CRATIS_EIO, "cannot read '%s': %s", path, strerror(errno));
	}
	json_error_t je;
	json_t *j = json_loadb(b.ptr, b.len, 0, &je);
	buf_release(&b);
	if (!j || !json_is_array(json_object_get(j, "tokens"))) {
		json_decref(j);
		return error_set(CRATIS_EIO, "'%s' is not a cratis tokens file", path);
	}
	*out = j;
	return CRATIS_OK;
}

static int token_hash(char out[65], const char *salt, const char *secret)
{
	char *m = xasprintf("%s:%s", salt, secret);
	int rc = secret_sha256_hex(out, m, strlen(m));
	free_wiped(m);
	return rc;
}

static bool plain_name(const char *s)
{
	if (!s || !*s || strlen(s) > 100)
		return false;
	for (; *s; s++)
		if (*s == ',' || *s == ' ' || *s == '\t' || *s == '\n' || *s == '"')
			return false;
	return true;
}

/* A token's record (kind "token", scope "", name its id): its body as JSON, or NULL. */
static json_t *record_json(const struct record *r)
{
	json_t *j = r->body ? json_loads(r->body, 0, NULL) : NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* Put token t (a JSON object with its id) as a new record: CRATIS_EEXISTS when the id is taken. */
static int token_put(struct store *st, json_t *t)
{
	char *body = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
	struct record r = { .kind = (char *)TOKEN_RECORD_KIND, .scope = (char *)"",
	                    .name = (char *)json_string_value(json_object_get(t, "id")), .body = body };
	int rc = r.name ? store_record_put(st, &r, 0, NULL) : error_set(CRATIS_EINVAL, "a token without an id");
	/* the store replaced created and updated with heap strings of its own */
	free(r.created);
	free(r.updated);
	free(body);
	return rc;
}

int token_create(struct token_created *out, struct store *st, const char *subject, const char *role, int64_t expires_s)
{
	if (!plain_name(subject))
		return error_set(CRATIS_EINVAL, "invalid subject '%s': expected a name without commas or spaces",
		                 subject ? subject : "");
	if (!plain_name(role))
		return error_set(CRATIS_EINVAL, "invalid role '%s': expected a name without commas or spaces", role ? role : "");
	char secret[65], salt[33], hash[65];
	int rc;
	if ((rc = random_hex(out->id, 8)) || (rc = random_hex(secret, 32)) || (rc = random_hex(salt, 16)))
		return rc;
	if ((rc = token_hash(hash, salt, secret)))
		return rc;
	snprintf(out->text, sizeof(out->text), "cratis_%s_%s", out->id, secret);
	explicit_bzero(secret, sizeof(secret));
	char created[32], exp[32];
	int64_t now = (int64_t)time(NULL);
	rfc3339(now, created);
	if (expires_s)
		rfc3339(now + expires_s, exp);
	char *r = starts_with(role, "role:") ? xstrdup(role) : xasprintf("role:%s", role);
	json_t *t = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:s, s:s}", "id", out->id, "subject", subject, "role", r,
	                      "created", created, "expires", expires_s ? json_string(exp) : json_null(), "expires_unix",
	                      (json_int_t)(expires_s ? now + expires_s : 0), "salt", salt, "sha256", hash);
	free(r);
	rc = token_put(st, t);
	json_decref(t);
	if (rc)
		explicit_bzero(out->text, sizeof(out->text));
	return rc;
}

int token_list(json_t **out, struct store *st)
{
	struct records rs;
	*out = NULL;
	int rc = store_records(st, TOKEN_RECORD_KIND, "", &rs);
	if (rc) {
		store_records_release(&rs);
		return rc;
	}
	json_t *list = json_array();
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < rs.n; i++) {
		json_t *t = record_json(&rs.v[i]);
		if (!t)
			continue;
		json_int_t e = json_integer_value(json_object_get(t, "expires_unix"));
		json_array_append_new(list, json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:b}", "id", json_object_get(t, "id"),
		                                      "subject", json_object_get(t, "subject"), "role",
		                                      json_object_get(t, "role"), "created", json_object_get(t, "created"),
		                                      "expires", json_object_get(t, "expires"), "expired", e && e <= now));
		json_decref(t);
	}
	store_records_release(&rs);
	*out = list;
	return CRATIS_OK;
}

int token_revoke(struct store *st, const char *id)
{
	int rc = store_record_delete(st, TOKEN_RECORD_KIND, "", id ? id : "", STORE_REV_ANY, NULL);
	if (rc == CRATIS_ENOTFOUND)
		return error_set(CRATIS_ENOTFOUND, "no token '%s' (cratis token list shows them)", id ? id : "");
	return rc;
}

int tokens_import(struct store *st, const char *path, size_t *imported)
{
	*imported = 0;
	struct stat sb;
	if (stat(path, &sb) && errno == ENOENT)
		return CRATIS_OK;
	json_t *j;
	int rc = tokens_read(path, &j);
	if (rc)
		return rc;
	json_t *t;
	size_t i;
	json_array_foreach(json_object_get(j, "tokens"), i, t) {
		if (!json_is_object(t) || !json_is_string(json_object_get(t, "id")))
			continue;
		int prc = token_put(st, t);
		if (prc == CRATIS_OK)
			(*imported)++;
		else if (prc != CRATIS_EEXISTS) { /* EEXISTS: imported before, or by another process */
			rc = prc;
			break;
		}
	}
	json_decref(j);
	if (!rc) {
		char *done = xasprintf("%s.imported", path);
		if (rename(path, done) && errno != ENOENT) /* ENOENT: another process renamed it */
			rc = error_set(CRATIS_EIO, "cannot rename '%s' to '%s': %s", path, done, strerror(errno));
		free(done);
	}
	return rc;
}

int token_verify(struct token_subject *out, struct store *st, const char *text)
{
	/* cratis_<16 hex>_<64 hex> */
	if (!text || strlen(text) != 7 + 16 + 1 + 64 || !starts_with(text, "cratis_") || text[23] != '_')
		return error_set(CRATIS_EINVAL, "malformed token");
	char id[17];
	memcpy(id, text + 7, 16);
	id[16] = 0;
	for (int k = 0; k < 16; k++)
		if (!strchr("0123456789abcdef", id[k]))
			return error_set(CRATIS_EINVAL, "malformed token");
	struct record r;
	int rc = store_record_get(st, TOKEN_RECORD_KIND, "", id, &r);
	if (rc == CRATIS_ENOTFOUND)
		return error_set(CRATIS_EINVAL, "unknown or revoked token %s", id);
	if (rc)
		return rc;
	json_t *t = record_json(&r);
	record_release(&r);
	const char *salt = json_string_value(json_object_get(t, "salt"));
	const char *want = json_string_value(json_object_get(t, "sha256"));
	const char *subject = json_string_value(json_object_get(t, "subject"));
	const char *role = json_string_value(json_object_get(t, "role"));
	char got[65];
	if (!salt || !want || strlen(want) != 64 || !subject || !role) {
		rc = error_set(CRATIS_EIO, "token %s has no hash in the store", id);
	} else if (!(rc = token_hash(got, salt, text + 24))) {
		unsigned diff = 0; /* constant time */
		for (int k = 0; k < 64; k++)
			diff |= (unsigned)(got[k] ^ want[k]);
		json_int_t e = json_integer_value(json_object_get(t, "expires_unix"));
		if (diff)
			rc = error_set(CRATIS_EINVAL, "wrong secret for token %s", id);
		else if (e && e <= (json_int_t)time(NULL))
			rc = error_set(CRATIS_EINVAL, "token %s expired", id);
		else {
			memset(out, 0, sizeof(*out));
			snprintf(out->subject, sizeof(out->subject), "%s", subject);
			snprintf(out->role, sizeof(out->role), "%s", role);
		}
	}
	json_decref(t);
	return rc;
}

/* The store of a, with the tokens file of earlier versions beside the state imported once. */
static struct store *token_store(struct app *a, size_t *imported, struct diags *d)
{
	size_t n = 0;
	char *path = xasprintf("%s/tokens.json", a->state_dir);
	int rc = tokens_import(a->store, path, &n);
	free(path);
	if (imported)
		*imported = n;
	if (rc) {
		diags_add_last_error(d);
		return NULL;
	}
	return a->store;
}

int app_token_create(struct app *a, const char *subject, const char *role, int64_t expires_s, struct token_created *out,
                     size_t *imported, struct diags *d)
{
	struct store *st = token_store(a, imported, d);
	if (!st)
		return cratis_error_last()->status;
	int rc = token_create(out, st, subject, role, expires_s);
	if (rc)
		diags_add_last_error(d);
	return rc;
}

int app_token_list(struct app *a, json_t **out, size_t *imported, struct diags *d)
{
	*out = NULL;
	struct store *st = token_store(a, imported, d);
	if (!st)
		return cratis_error_last()->status;
	int rc = token_list(out, st);
	if (rc)
		diags_add_last_error(d);
	return rc;
}

int app_token_revoke(struct app *a, const char *id, struct diags *d)
{
	int rc = token_revoke(a->store, id);
	if (rc)
		diags_add_last_error(d);
	return rc;
}
