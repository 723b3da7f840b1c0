/* The Migration kind of the `postgres` plugin: a folder of versioned SQL files
 * (V<version>__<description>.sql) applied in version order, each in its own transaction unless
 * its first line is `-- cratis:no-transaction`, then the repeatable ones (R__<description>.sql)
 * whose checksum changed, recorded in the table cratis_schema_history with the columns of
 * Flyway's flyway_schema_history (https://documentation.red-gate.com/flyway, "Schema History
 * Table"). Checksums are CRC32 (ISO-HDLC, as zlib and Flyway) of the file's bytes, as a signed
 * 32-bit integer. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg.h"

#define host pg_host
#define HISTORY "cratis_schema_history"
#define NO_TX_MARK "-- cratis:no-transaction"
#define MAX_SCRIPT (16u << 20) /* a migration file is at most 16 MiB */

struct mig {
	bool repeatable;
	char *version;        /* "1.2" (V1_2__x.sql), NULL for a repeatable one */
	char *description;    /* "create users" */
	char *script;         /* "V1_2__create_users.sql" */
	char *sql;            /* the file's content, NUL-terminated */
	size_t len;
	int32_t checksum;
	bool no_tx;
};

struct migs {
	struct mig *v;
	size_t n;
};

static void migs_release(struct migs *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].version);
		free(m->v[i].description);
		free(m->v[i].script);
		free(m->v[i].sql);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static int32_t crc32_of(const char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= (unsigned char)p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return (int32_t)(c ^ 0xffffffffu);
}

/* Compare dotted versions part by part, numerically ("1.10" after "1.9"). */
static int version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		while (*a == '0' && a[1] >= '0' && a[1] <= '9')
			a++;
		while (*b == '0' && b[1] >= '0' && b[1] <= '9')
			b++;
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");
		if (la != lb)
			return la < lb ? -1 : 1;
		int c = strncmp(a, b, la);
		if (c)
			return c;
		a += la;
		b += lb;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return 0;
}

static int mig_cmp(const void *x, const void *y)
{
	const struct mig *a = x, *b = y;
	if (a->repeatable != b->repeatable)
		return a->repeatable ? 1 : -1;
	if (!a->repeatable)
		return version_cmp(a->version, b->version);
	return strcmp(a->description, b->description);
}

/* The name without ".sql" ("V3__add_email"): what plans list. Caller frees. */
static char *mig_label(const struct mig *m)
{
	return strndup(m->script, strlen(m->script) - 4);
}

/* Parse a file name: V<digits>[(.|_)<digits>...]__<description>.sql or R__<description>.sql.
 * Returns false when it is neither. */
static bool parse_name(const char *name, struct mig *m)
{
	size_t n = strlen(name);
	if (n < 5 || strcmp(name + n - 4, ".sql"))
		return false;
	const char *sep = strstr(name, "__");
	if (!sep || sep == name || (size_t)(sep + 2 - name) >= n - 4)
		return false;
	if (name[0] == 'R' && sep == name + 1) {
		m->repeatable = true;
	} else if (name[0] == 'V') {
		const char *p = name + 1;
		if (p == sep)
			return false;
		for (const char *q = p; q < sep; q++) {
			bool digit = *q >= '0' && *q <= '9';
			bool dot = (*q == '.' || *q == '_') && q > p && q[-1] >= '0' && q[-1] <= '9' && q + 1 < sep;
			if (!digit && !dot)
				return false;
		}
		m->version = strndup(p, (size_t)(sep - p));
		for (char *q = m->version; *q; q++)
			if (*q == '_')
				*q = '.';
	} else {
		return false;
	}
	m->description = strndup(sep + 2, (size_t)(name + n - 4 - (sep + 2)));
	for (char *q = m->description; *q; q++)
		if (*q == '_')
			*q = ' ';
	m->script = strdup(name);
	return true;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= MAX_SCRIPT) {
				free(b);
				fclose(f);
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
			b = realloc(b, cap);
		}
		size_t r = fread(b + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(b);
		errno = EIO;
		return NULL;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

/* Read the migrations of spec.path (relative to the project directory) into *out, sorted:
 * versioned ones by version, then repeatable ones by description. Files not ending in .sql are
 * ignored; a .sql file with another name, two files with one version, or an unreadable file is
 * an error. */
static int migs_load(const struct cratis_request *req, json_t *spec, struct migs *out)
{
	out->v = NULL;
	out->n = 0;
	const char *rel = spec_str(spec, "path", NULL);
	if (!rel) {
		host->error(req->call, "spec.path", "missing field: expected the folder of migration files");
		return CRATIS_EINVAL;
	}
	char *dir = spec_path(req, rel);
	DIR *d = opendir(dir);
	if (!d) {
		host->error(req->call, "spec.path", "cannot open the migrations folder '%s': %s", dir, strerror(errno));
		free(dir);
		return CRATIS_EIO;
	}
	int rc = CRATIS_OK;
	size_t alloc = 0;
	struct dirent *e;
	while (!rc && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n < 4 || strcmp(e->d_name + n - 4, ".sql"))
			continue;
		struct mig m = { 0 };
		if (!parse_name(e->d_name, &m)) {
			host->error(req->call, "spec.path", "'%s/%s': expected V<version>__<description>.sql or R__<description>.sql",
			            rel, e->d_name);
			free(m.version);
			free(m.description);
			rc = CRATIS_EINVAL;
			break;
		}
		char *full = NULL;
		if (asprintf(&full, "%s/%s", dir, e->d_name) < 0)
			full = NULL;
		m.sql = full ? read_all(full, &m.len) : NULL;
		if (!m.sql) {
			host->error(req->call, "spec.path", "cannot read '%s': %s", full ? full : e->d_name, strerror(errno));
			rc = CRATIS_EIO;
		} else {
			m.checksum = crc32_of(m.sql, m.len);
			m.no_tx = !strncmp(m.sql, NO_TX_MARK, strlen(NO_TX_MARK));
		}
		free(full);
		if (out->n + 1 > alloc) {
			alloc = alloc ? 2 * alloc : 16;
			out->v = realloc(out->v, alloc * sizeof(*out->v));
		}
		out->v[out->n++] = m;
	}
	closedir(d);
	if (!rc)
		qsort(out->v, out->n, sizeof(*out->v), mig_cmp);
	for (size_t i = 1; !rc && i < out->n; i++) {
		const struct mig *a = &out->v[i - 1], *b = &out->v[i];
		if (!a->repeatable && !b->repeatable && !version_cmp(a->version, b->version)) {
			host->error(req->call, "spec.path", "'%s' and '%s' have the same version %s", a->script, b->script, a->version);
			rc = CRATIS_EINVAL;
		} else if (a->repeatable && b->repeatable && !strcmp(a->description, b->description)) {
			host->error(req->call, "spec.path", "'%s' and '%s' have the same description", a->script, b->script);
			rc = CRATIS_EINVAL;
		}
	}
	if (rc)
		migs_release(out);
	free(dir);
	return rc;
}

/* ---- the schema history ---- */

struct applied {
	char *version;      /* NULL for a repeatable row */
	char *description;
	char *script;
	int32_t checksum;
	bool success;
};

struct history {
	struct applied *v;
	size_t n;
};

static void history_release(struct history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].version);
		free(h->v[i].description);
		free(h->v[i].script);
	}
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

/* The history rows in installed order; an empty history when the table does not exist. */
static int history_read(struct pg_conn *c, const struct cratis_request *req, struct history *h)
{
	h->v = NULL;
	h->n = 0;
	PGresult *r = pg_query(c, req, "cannot read the schema history", "SELECT to_regclass('" HISTORY "') IS NOT NULL", 0, NULL);
	if (!r)
		return CRATIS_EIO;
	bool there = c->pq->getvalue(r, 0, 0)[0] == 't';
	c->pq->clear(r);
	if (!there)
		return CRATIS_OK;
	r = pg_query(c, req, "cannot read the schema history",
	             "SELECT version, description, script, checksum, success FROM " HISTORY " ORDER BY installed_rank", 0, NULL);
	if (!r)
		return CRATIS_EIO;
	int n = c->pq->ntuples(r);
	h->v = calloc((size_t)n + 1, sizeof(*h->v));
	for (int i = 0; i < n; i++) {
		struct applied *a = &h->v[h->n++];
		a->version = c->pq->getisnull(r, i, 0) ? NULL : strdup(c->pq->getvalue(r, i, 0));
		a->description = strdup(c->pq->getvalue(r, i, 1));
		a->script = strdup(c->pq->getvalue(r, i, 2));
		a->checksum = (int32_t)strtol(c->pq->getvalue(r, i, 3), NULL, 10);
		a->success = c->pq->getvalue(r, i, 4)[0] == 't';
	}
	c->pq->clear(r);
	return CRATIS_OK;
}

/* The last successful row for m (its version, or for a repeatable one its description), or NULL. */
static const struct applied *history_find(const struct history *h, const struct mig *m)
{
	const struct applied *found = NULL;
	for (size_t i = 0; i < h->n; i++) {
		const struct applied *a = &h->v[i];
		if (!a->success)
			continue;
		if (m->repeatable ? !a->version && !strcmp(a->description, m->description)
		                  : a->version && !version_cmp(a->version, m->version))
			found = a;
	}
	return found;
}

/* What applying would do: the labels of the pending migrations into *pending (a JSON array),
 * and the first problem (a changed applied migration, a pending one older than the newest
 * applied) into why[0..cap) ("" when none). */
static void migs_status(const struct migs *ms, const struct history *h, json_t *pending, char *why, size_t cap)
{
	why[0] = '\0';
	const char *newest = NULL;
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].success && h->v[i].version && (!newest || version_cmp(h->v[i].version, newest) > 0))
			newest = h->v[i].version;
	for (size_t i = 0; i < ms->n; i++) {
		const struct mig *m = &ms->v[i];
		const struct applied *a = history_find(h, m);
		if (!m->repeatable && a && a->checksum != m->checksum) {
			if (!*why)
				snprintf(why, cap, "%s was applied with checksum %" PRId32 " but the file now has checksum %" PRId32
				         ": an applied migration must not change (add a new version instead)", m->script, a->checksum,
				         m->checksum);
			continue;
		}
		if (a && a->checksum == m->checksum)
			continue;
		if (!m->repeatable && newest && version_cmp(m->version, newest) < 0 && !*why)
			snprintf(why, cap, "%s is pending but older than the newest applied version %s (out of order)", m->script, newest);
		char *label = mig_label(m);
		json_array_append_new(pending, json_string(label));
		free(label);
	}
}

/* ---- running ---- */

/* The 1-based line of character position pos (PostgreSQL counts characters, not bytes) of sql. */
static int line_of(const char *sql, long pos)
{
	int line = 1;
	long chars = 0;
	for (const char *p = sql; *p && chars < pos - 1; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80)
			chars++;
		if (*p == '\n')
			line++;
	}
	return line;
}

/* Split sql into statements on top-level semicolons (outside quotes, dollar quotes and
 * comments); each statement is NUL-terminated in place and its start offset appended to starts
 * (the caller frees *starts). Returns the number of statements that hold more than blanks. */
static size_t split_sql(char *sql, size_t **starts)
{
	size_t n = 0, cap = 16;
	*starts = malloc(cap * sizeof(size_t));
	size_t begin = 0;
	char *p = sql;
	for (;;) {
		char ch = *p;
		if (ch == '\'' || ch == '"') {
			for (p++; *p; p++)
				if (*p == ch) {
					if (p[1] == ch)
						p++;
					else
						break;
				}
		} else if (ch == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
			continue;
		} else if (ch == '/' && p[1] == '*') {
			int depth = 1;
			for (p += 2; *p && depth; p++) {
				if (*p == '/' && p[1] == '*')
					depth++, p++;
				else if (*p == '*' && p[1] == '/')
					depth--, p++;
			}
			continue;
		} else if (ch == '$') {
			char *q = p + 1;
			while (*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9' && q > p + 1))
				q++;
			if (*q == '$') {
				size_t tl = (size_t)(q - p + 1);
				char *end;
				for (end = q + 1; *end && strncmp(end, p, tl); end++)
					;
				p = *end ? end + tl : end;
				continue;
			}
		}
		if (!*p || *p == ';') {
			bool last = !*p;
			*p = '\0';
			bool blank = true;
			for (char *s = sql + begin; *s && blank; s++) {
				if (*s == '-' && s[1] == '-') {
					while (*s && s[1] != '\n' && s[1])
						s++;
					continue;
				}
				blank = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r';
			}
			if (!blank) {
				if (n == cap)
					*starts = realloc(*starts, (cap *= 2) * sizeof(size_t));
				(*starts)[n++] = begin;
			}
			if (last)
				break;
			begin = (size_t)(p - sql) + 1;
		}
		p++;
	}
	return n;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Record m's outcome: remove its earlier failed rows, add one (success or not). */
static int history_add(struct pg_conn *c, const struct cratis_request *req, const struct mig *m, bool ok, int64_t ms)
{
	char cks[16], time[24];
	snprintf(cks, sizeof(cks), "%" PRId32, m->checksum);
	snprintf(time, sizeof(time), "%lld", (long long)ms);
	const char *dp[2] = { m->version, m->description };
	int rc = m->repeatable ? pg_run(c, req, "cannot update the schema history",
	                                "DELETE FROM " HISTORY " WHERE version IS NULL AND description = $1 AND NOT success", 1, dp + 1)
	                       : pg_run(c, req, "cannot update the schema history",
	                                "DELETE FROM " HISTORY " WHERE version = $1 AND NOT success", 1, dp);
	const char *ip[6] = { m->version, m->description, m->script, cks, time, ok ? "true" : "false" };
	if (!rc)
		rc = pg_run(c, req, "cannot update the schema history",
		            "INSERT INTO " HISTORY " (installed_rank, version, description, type, script, checksum, installed_by, "
		            "execution_time, success) SELECT coalesce(max(installed_rank), 0) + 1, $1, $2, 'SQL', $3, $4::integer, "
		            "current_user, $5::integer, $6::boolean FROM " HISTORY, 6, ip);
	return rc;
}

/* The server's error of the failed statement stmt (result r), which starts at byte offset of
 * m's file, with its line in the file when the server says where. */
static void report_failure(struct pg_conn *c, const struct cratis_request *req, const struct mig *m, PGresult *r,
                           const char *stmt, size_t offset, bool no_tx)
{
	const char *msg = r ? c->pq->result_error_field(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *pos = r ? c->pq->result_error_field(r, PG_DIAG_STATEMENT_POSITION) : NULL;
	if (!msg)
		msg = c->pq->error_message(c->db);
	char where[48] = "";
	if (pos) {
		int line = 1;
		for (size_t i = 0; i < offset && m->sql[i]; i++)
			line += m->sql[i] == '\n';
		snprintf(where, sizeof(where), " at line %d", line + line_of(stmt, strtol(pos, NULL, 10)) - 1);
	}
	host->error(req->call, "spec.path", "%s failed%s: %s%s", m->script, where, msg,
	            no_tx ? " (ran without a transaction: the statements before the failing one stay applied)"
	                  : " (rolled back: the database is as before it)");
}

/* Run sql on c, ignoring the outcome (ROLLBACK after a failure, and the like). */
static void exec_quiet(struct pg_conn *c, const char *sql)
{
	PGresult *r = c->pq->exec(c->db, sql);
	if (r)
		c->pq->clear(r);
}

static bool result_ok(struct pg_conn *c, PGresult *r)
{
	ExecStatusType st = r ? c->pq->result_status(r) : PGRES_FATAL_ERROR;
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY;
}

/* Record m as failed in a transaction of its own (after the migration's was rolled back). */
static void record_failed(struct pg_conn *c, const struct cratis_request *req, const struct mig *m, int64_t ms)
{
	exec_quiet(c, "BEGIN");
	if (history_add(c, req, m, false, ms))
		exec_quiet(c, "ROLLBACK");
	else
		exec_quiet(c, "COMMIT");
}

/* Apply one migration and record it: CRATIS_OK, or CRATIS_EIO with the error set naming the
 * file, the line and the server's message (the failure recorded with success = false). */
static int run_one(struct pg_conn *c, const struct cratis_request *req, const struct mig *m)
{
	int64_t t0 = now_ms();
	PGresult *r;
	if (!m->no_tx) {
		if (pg_run(c, req, "cannot begin a transaction", "BEGIN", 0, NULL))
			return CRATIS_EIO;
		r = c->pq->exec(c->db, m->sql);
		if (!result_ok(c, r)) {
			exec_quiet(c, "ROLLBACK");
			record_failed(c, req, m, now_ms() - t0);
			report_failure(c, req, m, r, m->sql, 0, false);
			if (r)
				c->pq->clear(r);
			return CRATIS_EIO;
		}
		c->pq->clear(r);
		if (history_add(c, req, m, true, now_ms() - t0) || pg_run(c, req, "cannot commit", "COMMIT", 0, NULL)) {
			exec_quiet(c, "ROLLBACK");
			return CRATIS_EIO;
		}
		return CRATIS_OK;
	}
	/* no transaction: statement by statement, each committed on its own (CREATE INDEX
	 * CONCURRENTLY refuses a multi-statement query as well as a transaction block) */
	char *copy = strdup(m->sql);
	size_t *starts = NULL;
	size_t n = split_sql(copy, &starts);
	int rc = CRATIS_OK;
	for (size_t i = 0; i < n && !rc; i++) {
		r = c->pq->exec(c->db, copy + starts[i]);
		if (!result_ok(c, r)) {
			record_failed(c, req, m, now_ms() - t0);
			report_failure(c, req, m, r, copy + starts[i], starts[i], true);
			rc = CRATIS_EIO;
		}
		if (r)
			c->pq->clear(r);
	}
	if (!rc && (pg_run(c, req, "cannot begin a transaction", "BEGIN", 0, NULL) ||
	            history_add(c, req, m, true, now_ms() - t0) || pg_run(c, req, "cannot commit", "COMMIT", 0, NULL))) {
		exec_quiet(c, "ROLLBACK");
		rc = CRATIS_EIO;
	}
	free(starts);
	free(copy);
	return rc;
}

/* ---- ops ---- */

#define HISTORY_DDL                                                                                         \
	"CREATE TABLE IF NOT EXISTS " HISTORY " (installed_rank INTEGER NOT NULL PRIMARY KEY,"              \
	" version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL,"                \
	" script VARCHAR(1000) NOT NULL, checksum INTEGER, installed_by VARCHAR(100) NOT NULL,"              \
	" installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INTEGER NOT NULL,"                  \
	" success BOOLEAN NOT NULL)"

int migration_validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = spec_parse(req, 0);
	int rc = pg_validate_system(req);
	const char *db = spec_str(s, "database", NULL);
	if (!rc && (!db || !*db)) {
		host->error(req->call, "spec.database", "missing field or not a string: expected the database's name or ${Database/NAME.outputs.name}");
		rc = CRATIS_EINVAL;
	}
	if (!rc && !json_is_string(json_object_get(s, "path"))) {
		host->error(req->call, "spec.path", "missing field or not a string: expected the folder of migration files");
		rc = CRATIS_EINVAL;
	}
	struct migs ms;
	if (!rc && !(rc = migs_load(req, s, &ms)))
		migs_release(&ms);
	json_decref(s);
	return rc;
}

/* The pending migrations of spec (which = 0: desired, 1: recorded) into *pending, and the first
 * problem into why. *exists is false when the database does not exist. */
static int status_of(const struct cratis_request *req, int which, json_t **pending, char *why, size_t cap, bool *exists)
{
	*pending = json_array();
	why[0] = '\0';
	*exists = true;
	json_t *s = spec_parse(req, which);
	struct migs ms;
	int rc = migs_load(req, s, &ms);
	if (rc)
		goto out_free;
	struct pg_conn c;
	rc = pg_connect(&c, req, spec_str(s, "database", ""), true);
	if (rc == CRATIS_ENOTFOUND) {
		*exists = false;
		for (size_t i = 0; i < ms.n; i++) {
			char *l = mig_label(&ms.v[i]);
			json_array_append_new(*pending, json_string(l));
			free(l);
		}
		rc = CRATIS_OK;
	} else if (!rc) {
		struct history h;
		if (!(rc = history_read(&c, req, &h)))
			migs_status(&ms, &h, *pending, why, cap);
		history_release(&h);
		pg_close(&c);
	}
	migs_release(&ms);
out_free:
	json_decref(s);
	return rc;
}

int migration_plan(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *pending;
	char why[1024];
	bool exists;
	int rc = status_of(req, 0, &pending, why, sizeof(why), &exists);
	if (!rc) {
		json_t *doc = json_pack("{s:s,s:O}", "action", "update", "changes", pending);
		*out = spec_out(host, doc);
		json_decref(doc);
	}
	json_decref(pending);
	return rc;
}

int migration_observe(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *pending;
	char why[1024];
	bool exists;
	int rc = status_of(req, 1, &pending, why, sizeof(why), &exists);
	if (rc) {
		json_decref(pending);
		return rc;
	}
	json_t *doc;
	if (*why) {
		doc = json_pack("{s:b,s:b,s:s,s:O}", "exists", 1, "drift", 1, "reason", why, "changes", pending);
	} else if (json_array_size(pending)) {
		char list[900] = "";
		size_t len = 0, i;
		json_t *x;
		json_array_foreach(pending, i, x) {
			int w = snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", json_string_value(x));
			if (w < 0 || (size_t)w >= sizeof(list) - len) {
				snprintf(list + sizeof(list) - 5, 5, "...");
				break;
			}
			len += (size_t)w;
		}
		char reason[1024];
		snprintf(reason, sizeof(reason), "%zu pending migration%s: %s", json_array_size(pending),
		         json_array_size(pending) == 1 ? "" : "s", list);
		doc = json_pack("{s:b,s:b,s:s,s:O}", "exists", 1, "drift", 1, "reason", reason, "changes", pending);
	} else {
		doc = json_pack("{s:b,s:b}", "exists", 1, "drift", 0);
	}
	(void)exists;
	*out = spec_out(host, doc);
	json_decref(doc);
	json_decref(pending);
	return CRATIS_OK;
}

int migration_apply(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *s = spec_parse(req, 0);
	const char *db = spec_str(s, "database", "");
	struct migs ms;
	struct history h = { 0 };
	int rc = migs_load(req, s, &ms);
	if (rc)
		goto out_free;
	struct pg_conn c;
	if ((rc = pg_connect(&c, req, db, false)))
		goto out_migs;
	/* one migrator at a time per database: a session lock, released when the session ends */
	rc = CRATIS_EIO;
	if (pg_run(&c, req, "cannot lock the schema history", "SELECT pg_advisory_lock(hashtext('" HISTORY "'))", 0, NULL) ||
	    pg_run(&c, req, "cannot create the schema history table", HISTORY_DDL, 0, NULL) ||
	    history_read(&c, req, &h))
		goto out_close;
	json_t *pending = json_array();
	char why[1024];
	migs_status(&ms, &h, pending, why, sizeof(why));
	json_decref(pending);
	if (*why) {
		host->error(req->call, "spec.path", "%s", why);
		rc = CRATIS_EINVAL;
		goto out_close;
	}
	size_t applied = 0;
	rc = CRATIS_OK;
	const char *current = NULL;
	for (size_t i = 0; i < ms.n && !rc; i++) {
		const struct mig *m = &ms.v[i];
		const struct applied *a = history_find(&h, m);
		if (!m->repeatable)
			current = m->version;
		if (a && a->checksum == m->checksum)
			continue;
		char *label = mig_label(m);
		host->log(req->call, CRATIS_LOG_INFO, "migrating %s: %s%s", db, label, m->no_tx ? " (no transaction)" : "");
		free(label);
		if (!(rc = run_one(&c, req, m)))
			applied++;
	}
	if (!rc) {
		json_t *doc = json_pack("{s:{s:s,s:s,s:s?,s:I}}", "outputs", "database", db, "table", HISTORY, "version", current,
		                        "applied", (json_int_t)applied);
		*out = spec_out(host, doc);
		json_decref(doc);
	}
out_close:
	pg_close(&c);
out_migs:
	history_release(&h);
	migs_release(&ms);
out_free:
	json_decref(s);
	return rc;
}

/* The schema stays: a destroyed Migration forgets the record, like Flyway without clean. */
int migration_destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	host->log(req->call, CRATIS_LOG_INFO, "the schema and its history table are left in the database");
	return CRATIS_OK;
}
