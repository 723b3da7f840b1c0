/* Metrics of an experiment (issue 12): metric definitions, per-variant accumulators that turn into
 * the decide_sample the decision reads, and three providers: the router's nginx access log (one
 * JSON line per request, read incrementally), the Prometheus HTTP API and a command printing JSON.
 * docs/experiments.md ("Metrics") documents the formats. */
#ifndef CRATIS_EXPERIMENT_METRICS_H
#define CRATIS_EXPERIMENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "experiment/decide.h"
#include "util/buf.h"
#include "util/diag.h"

#define METRICS_MAX_VARIANTS DECIDE_MAX_VARIANTS
#define METRICS_MAX_METRICS (1 + DECIDE_MAX_GUARDRAILS)   /* objective + guardrails */

/* The access-log format the router's nginx writes, one JSON object per line (nginx
 * ngx_http_log_module, `escape=json`: strings are JSON-escaped, an unset variable is ""). The
 * router's configuration must set $cratis_variant (split_clients or a map over the user id) and
 * $cratis_user (a map from the user-id cookie). $status and $request_time are bare numbers. */
#define METRICS_NGINX_LOG_FORMAT_NAME "cratis_experiment"
#define METRICS_NGINX_LOG_FORMAT                                                              \
	"log_format " METRICS_NGINX_LOG_FORMAT_NAME " escape=json "                             \
	"'{\"time\":\"$time_iso8601\",\"variant\":\"$cratis_variant\",\"status\":$status,"     \
	"\"request_time\":$request_time,\"path\":\"$uri\",\"user\":\"$cratis_user\"}';"

/* What a metric is: conversions per exposed user, or the mean of a value. */
enum metric_kind { METRIC_RATIO = 0, METRIC_MEAN = 1 };
/* The unit a mean is taken over: each request, or each user (the sum or the mean of that user's
 * values). */
enum metric_aggregate { METRIC_PER_REQUEST = 0, METRIC_PER_USER_SUM = 1, METRIC_PER_USER_MEAN = 2 };

/* One metric's definition (every string owned; metric_def_release frees them). The access-log
 * fields (exposure_path ... reservoir) are read by the nginx provider; the source fields
 * (src_*) name, for the Prometheus provider, a PromQL query with ${variant} in it, and for the
 * command provider, a key of the variant's JSON object. */
struct metric_def {
	char *name;                  /* [A-Za-z0-9_.-]+ */
	enum metric_kind kind;
	/* ratio, access log: an exposure is a request by a user to a path matching exposure_path
	 * (fnmatch(3) pattern, default "*"); a conversion is a request to conversion_path answered
	 * with a status in class conversion_status (2 = 2xx; 0 = any). Both are counted once per
	 * user per variant, and a user converts only once exposed. */
	char *exposure_path;
	char *conversion_path;
	int conversion_status;
	/* mean, access log: requests to path (pattern, default "*") give a value: field is
	 * "request_time" (seconds) or any numeric field of the line. */
	char *path;
	char *field;
	enum metric_aggregate aggregate;
	size_t reservoir;            /* per-request values kept for a rank test (0 = none) */
	/* Prometheus / command sources: ratio needs exposures and conversions; mean needs count,
	 * sum and sumsq (sum of squares). */
	char *src_exposures, *src_conversions, *src_count, *src_sum, *src_sumsq;
};

/* Parse one metric definition from JSON (the manifest's `objective` / `guardrails[]` entries, or
 * a provider configuration's `metrics[]`):
 *   {"name": "buy", "kind": "ratio" | "mean",
 *    "exposure": "/shop", "conversion": "/buy", "status": "2xx" | "any",        (ratio, log)
 *    "path": "/api/x", "field": "request_time", "aggregate": "request" | "user-sum" | "user-mean",
 *    "reservoir": 1000,                                                      (mean, log)
 *    "exposures": Q, "conversions": Q, "count": Q, "sum": Q, "sumsq": Q}      (sources)
 * where (field, default "request", "any") name the defaults. where is the field path of j for
 * messages ("metrics[1]"). *out is initialised here; release it with metric_def_release, also
 * after an error. Returns 0, or CRATIS_EINVAL with an error diagnostic in *d naming the field
 * ("metrics[1].kind: expected \"ratio\" or \"mean\""): an unknown key, a wrong type, a bad name,
 * an unknown kind, aggregate or status class, a ratio without conversion path and without
 * sources. */
int metric_def_from_json(struct metric_def *out, const json_t *j, const char *where,
                         struct diags *d);
void metric_def_release(struct metric_def *def);

/* A set of user ids (64-bit hashes of the id: two ids collide with probability about
 * n^2 / 2^65, 3e-8 for 10 million users) with a value per user. Internal to the accumulators. */
struct metric_user {
	uint64_t key;                /* 0 = empty slot (a hash of 0 is stored as 1) */
	uint32_t flags;
	uint32_t count;
	double sum;
};
struct metric_users {
	struct metric_user *slots;
	size_t n, cap;               /* cap a power of two, or 0 */
};

/* One metric's data for one variant. */
struct metric_acc {
	double exposures, conversions;   /* ratio: users */
	double n, sum, sumsq;            /* mean: values (requests or users) */
	double *values;                  /* reservoir (per request), up to def->reservoir */
	size_t n_values;
	uint64_t seen;                   /* values offered to the reservoir */
	struct metric_users users;       /* per-user means: each user's values */
};

/* Metrics of the variants of one experiment, fed by a provider. */
struct metric_set {
	size_t n_metrics, n_variants;
	struct metric_def defs[METRICS_MAX_METRICS];      /* owned */
	char *variants[METRICS_MAX_VARIANTS];              /* owned */
	struct metric_acc acc[METRICS_MAX_METRICS][METRICS_MAX_VARIANTS];
	double exposures[METRICS_MAX_VARIANTS];            /* unique users seen per variant (for
	                                                      decide_variant_obs.exposures) */
	struct metric_users seen_users[METRICS_MAX_VARIANTS];  /* flags: bits 2m, 2m+1 = exposed,
	                                                          converted for ratio metric m */
	uint64_t rng;                                      /* reservoir sampling (seeded, fixed) */
};

/* The entry of key (non-zero) in u, inserted zeroed when absent (*fresh says which). The
 * pointer is valid until the next insertion into u. For the providers and the saved state. */
struct metric_user *metric_users_get(struct metric_users *u, uint64_t key, bool *fresh);

/* Start a set for variants[0..n_variants) (names [A-Za-z0-9_.-]+, distinct, copied) and the
 * metric definitions defs[0..n_metrics) (moved into the set: the caller's entries are zeroed).
 * Returns 0, or CRATIS_EINVAL (last error set) for 0 or too many variants or metrics, a bad or
 * repeated variant name, or a repeated metric name; *set is then empty (release it anyway). */
int metric_set_init(struct metric_set *set, const char *const *variants, size_t n_variants,
                    struct metric_def *defs, size_t n_metrics);
/* Forget every count (keep definitions and variants): for a provider that reports totals. */
void metric_set_clear(struct metric_set *set);
void metric_set_release(struct metric_set *set);
/* Index of the variant or metric called name, or -1. */
int metric_set_variant(const struct metric_set *set, const char *name);
int metric_set_metric(const struct metric_set *set, const char *name);

/* The decide_sample of metric m for variant v: ratio: n = exposures, conversions; mean: n, mean
 * and the sample variance (0 when n < 2; NaN mean when n == 0). */
void metric_set_sample(struct decide_sample *out, const struct metric_set *set, size_t m,
                       size_t v);
/* The set as JSON: {"variants": [{"name", "users", "metrics": {NAME: {"exposures",
 * "conversions", "rate"} | {"n", "sum", "sumsq", "mean", "var", "reservoir"}}}]}.
 * New reference. */
json_t *metric_set_to_json(const struct metric_set *set);

/* One request as the access-log provider sees it (strings borrowed, not NUL-terminated). */
struct metric_request {
	const char *variant, *path, *user;
	size_t variant_len, path_len, user_len;
	int status;
	double request_time;
};
/* Count one request into the set (numeric fields other than request_time are looked up in
 * line[0..len), the raw JSON line, when a definition names one). Returns false when the variant
 * is not one of the set's (the request is ignored). */
bool metric_set_add_request(struct metric_set *set, const struct metric_request *req,
                            const char *line, size_t len);

/* The access log, read incrementally: the open file, its identity and how far it was read. */
struct nginx_log {
	char *path;                  /* owned */
	int fd;                      /* -1 while the file does not exist */
	dev_t dev;
	ino_t ino;
	off_t offset;                /* bytes read from fd */
	struct buf partial;          /* an unterminated last line, kept for the next read */
	bool overlong;               /* the current line passed 64 KiB: skipped to its newline */
	char head[256];              /* the file's first bytes, to tell a file truncated and */
	size_t head_len;             /* written again past the old size from the one read */
	off_t resume_offset;         /* > 0: restored by metrics_state_load, the next read
	                                continues there if the file is still the same */
	uint64_t lines;              /* complete lines read */
	uint64_t bad_lines;          /* not a JSON object of the format, or a field of a wrong type */
	uint64_t other_variant;      /* a variant the set does not know (or none) */
	uint64_t rotations;          /* times the file was replaced or truncated */
};

/* Follow the access log at path (copied). Nothing is read yet. */
void nginx_log_init(struct nginx_log *log, const char *path);
void nginx_log_release(struct nginx_log *log);
/* Read what the log gained since the last call and count its complete lines into set (a last
 * line without its newline waits for the next call). Rotation as `tail -F`: when the path names
 * another file (new inode), the rest of the old file is read first, then the new one from its
 * start; when the file shrank below what was read (truncated), it is read again from its start.
 * A log that does not exist yet reads as empty. Lines longer than 64 KiB are bad lines. Returns
 * 0, or CRATIS_EIO (last error set, naming the path and errno) when the file cannot be opened,
 * stat-ed or read. */
int nginx_log_read(struct nginx_log *log, struct metric_set *set);
/* Parse one access-log line (without its newline) into *req (borrowing from line). Returns
 * false for a line that is not a flat JSON object with string "variant", "path", "user" and
 * numeric "status", "request_time". */
bool nginx_log_parse_line(struct metric_request *req, const char *line, size_t len);
/* The number in field name of line (a flat JSON object), in *out. Returns false when the field
 * is absent or not a number. */
bool nginx_log_number(double *out, const char *line, size_t len, const char *name);

/* Save what a controller needs to resume after a restart: every count of set (users as their
 * hashes, reservoirs, the sampling state) and, when log is not NULL, where the access log was
 * read (file identity, offset, first bytes, an unterminated last line, counters). Appended to
 * *out in a versioned binary form, little-endian whatever the machine (about 12 bytes per user
 * and variant, 16 more per user of a per-user mean). */
void metrics_state_save(struct buf *out, const struct metric_set *set, const struct nginx_log *log);
/* Restore a state written by metrics_state_save into set (initialised with the same variants and
 * metric names and kinds, in the same order, and no counts yet) and, when log is not NULL, into
 * log (initialised on the same path, not yet read). When the file at the path is still the one
 * that was being read (same device, inode and first bytes, not shorter), the next nginx_log_read
 * continues at the saved offset; otherwise (rotated or truncated while nothing read it) it reads
 * the current file from its start, counted as a rotation, and the old file's lines written after
 * the save are not counted. Returns 0, or CRATIS_EINVAL (last error set) when data is not such a
 * state, is truncated, or is of other variants or metrics; set's counts are then cleared and
 * log is left unread. */
int metrics_state_load(struct metric_set *set, struct nginx_log *log, const void *data, size_t len);

/* Prometheus HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/). */
struct prom_source {
	const char *url;             /* base URL, "http://127.0.0.1:9090" (borrowed) */
	int timeout_ms;              /* per query; 0 = 10 s */
};
/* Run one instant query (GET url/api/v1/query?query=..., query URL-encoded) and return its value
 * in *out: a scalar, or an instant vector of exactly one sample. libcurl is opened on first use.
 * Returns 0, CRATIS_ENOTFOUND when libcurl cannot be loaded, CRATIS_EIO when the request fails
 * (connection, timeout, a non-JSON answer), or CRATIS_EINVAL when Prometheus answers
 * status "error" (its errorType and error in the message), an empty result ("no data"), more
 * than one series, or a value that is not a finite number; the last error names the query. */
int prom_query(double *out, const struct prom_source *src, const char *query);
/* query_template with every "${variant}" replaced by variant, as a new string (caller frees). */
char *metrics_interpolate(const char *query_template, const char *variant);
/* Fill set from Prometheus: for every variant and metric, each source query of the definition
 * with ${variant} interpolated; the totals replace the set's counts, and set->exposures[v] (the
 * sample-ratio check's users) is the largest ratio exposures total of v. Returns 0, or the first
 * failing query's status with the last error prefixed by "metric 'NAME', variant 'V'". */
int prom_read(struct metric_set *set, const struct prom_source *src);

/* Command provider: run argv (no shell; timeout_ms 0 = 30 s) and read from its stdout a JSON
 * object {"VARIANT": {"KEY": number, ...}, ...}; each metric's sources are keys. The totals
 * replace the set's counts (set->exposures as for prom_read). Returns 0, CRATIS_EIO when the command cannot start, times out or
 * exits non-zero (the message has its exit status and the tail of its stderr), or CRATIS_EINVAL
 * when its output is not such an object, or a variant or key is missing or not a number (the
 * message names them). */
int command_read(struct metric_set *set, const char *const *argv, int timeout_ms);

#endif
