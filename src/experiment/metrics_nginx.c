/* The router's nginx access log as a metrics provider (issue 12): JSON lines read incrementally,
 * following rotation and truncation like `tail -F`. */
#include "experiment/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/banned.h"
#include "util/error.h"
#include "util/util.h"

#define LINE_MAX_BYTES (64u << 10)
#define CHUNK (1u << 20)

/* ---- a flat JSON object, scanned in place ---- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* A string starting at *p (on its opening quote): its raw contents (escapes kept) in *s, *n.
 * Returns the position after the closing quote, or NULL. */
static const char *scan_string(const char *p, const char *end, const char **s, size_t *n)
{
	if (p >= end || *p != '"')
		return NULL;
	const char *q = ++p;
	while (q < end && *q != '"') {
		if ((unsigned char)*q < 0x20)
			return NULL;
		if (*q == '\\') {
			if (++q >= end)
				return NULL;
		}
		q++;
	}
	if (q >= end)
		return NULL;
	*s = p;
	*n = (size_t)(q - p);
	return q + 1;
}

struct member {
	const char *key, *val;
	size_t klen, vlen;
	bool is_string;
};

/* The next member of an object: *p is after '{' or after the previous member. Returns 1 with *m,
 * 0 at the closing brace (*p after it), -1 on a syntax error. */
static int next_member(const char **pp, const char *end, struct member *m, bool first)
{
	const char *p = skip_ws(*pp, end);
	if (p < end && *p == '}') {
		*pp = p + 1;
		return 0;
	}
	if (!first) {
		if (p >= end || *p != ',')
			return -1;
		p = skip_ws(p + 1, end);
	}
	p = scan_string(p, end, &m->key, &m->klen);
	if (!p)
		return -1;
	p = skip_ws(p, end);
	if (p >= end || *p != ':')
		return -1;
	p = skip_ws(p + 1, end);
	if (p < end && *p == '"') {
		m->is_string = true;
		p = scan_string(p, end, &m->val, &m->vlen);
		if (!p)
			return -1;
	} else {
		m->is_string = false;
		m->val = p;
		while (p < end && *p != ',' && *p != '}' && *p != ' ' && *p != '\t')
			p++;
		m->vlen = (size_t)(p - m->val);
		if (m->vlen == 0)
			return -1;
	}
	*pp = p;
	return 1;
}

/* DIGITS[.DIGITS] with at most 15 digits, the form nginx writes $status and $request_time in:
 * the integer of all digits divided by a power of ten, both exact doubles, so the one IEEE
 * division rounds correctly and gives what strtod gives. */
static bool parse_plain_decimal(double *out, const char *s, size_t n)
{
	static const double pow10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	                                1e12, 1e13, 1e14, 1e15 };
	uint64_t m = 0;
	size_t digits = 0, frac = 0;
	bool dot = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' && !dot && i > 0 && i + 1 < n) {
			dot = true;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || ++digits > 15)
			return false;
		m = m * 10 + (uint64_t)(s[i] - '0');
		frac += dot;
	}
	if (digits == 0)
		return false;
	*out = (double)m / pow10[frac];
	return true;
}

static bool parse_number(double *out, const char *s, size_t n)
{
	if (parse_plain_decimal(out, s, n))
		return true;
	char tmp[64];
	if (n == 0 || n >= sizeof tmp)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *e;
	errno = 0;
	double x = strtod(tmp, &e);
	if (e != tmp + n || errno == ERANGE)
		return false;
	*out = x;
	return true;
}

static bool key_is(const struct member *m, const char *k)
{
	return strlen(k) == m->klen && memcmp(m->key, k, m->klen) == 0;
}

bool nginx_log_parse_line(struct metric_request *req, const char *line, size_t len)
{
	const char *end = line + len, *p = skip_ws(line, end);
	if (p >= end || *p != '{')
		return false;
	p++;
	memset(req, 0, sizeof *req);
	unsigned have = 0;
	struct member m;
	int r;
	for (bool first = true; (r = next_member(&p, end, &m, first)) == 1; first = false) {
		if (key_is(&m, "variant") && m.is_string) {
			req->variant = m.val, req->variant_len = m.vlen, have |= 1;
		} else if (key_is(&m, "path") && m.is_string) {
			req->path = m.val, req->path_len = m.vlen, have |= 2;
		} else if (key_is(&m, "user") && m.is_string) {
			req->user = m.val, req->user_len = m.vlen, have |= 4;
		} else if (key_is(&m, "status")) {
			double s;
			if (m.is_string || !parse_number(&s, m.val, m.vlen) || !(s >= 0 && s <= 999)) /* NaN too */
				return false;
			req->status = (int)s, have |= 8;
		} else if (key_is(&m, "request_time")) {
			if (m.is_string || !parse_number(&req->request_time, m.val, m.vlen))
				return false;
			have |= 16;
		} else if (key_is(&m, "variant") || key_is(&m, "path") || key_is(&m, "user")) {
			return false;
		}
	}
	if (r < 0 || skip_ws(p, end) != end)
		return false;
	return have == 31;
}

bool nginx_log_number(double *out, const char *line, size_t len, const char *name)
{
	const char *end = line + len, *p = skip_ws(line, end);
	if (p >= end || *p != '{')
		return false;
	p++;
	struct member m;
	for (bool first = true; next_member(&p, end, &m, first) == 1; first = false)
		if (key_is(&m, name))
			return parse_number(out, m.val, m.vlen);
	return false;
}

/* ---- the file ---- */

void nginx_log_init(struct nginx_log *log, const char *path)
{
	memset(log, 0, sizeof *log);
	log->path = xstrdup(path);
	log->fd = -1;
	buf_init(&log->partial);
}

void nginx_log_release(struct nginx_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	free(log->path);
	buf_release(&log->partial);
	memset(log, 0, sizeof *log);
	log->fd = -1;
}

static void count_line(struct nginx_log *log, struct metric_set *set, const char *s, size_t n)
{
	struct metric_request req;
	log->lines++;
	if (!nginx_log_parse_line(&req, s, n))
		log->bad_lines++;
	else if (!metric_set_add_request(set, &req, s, n))
		log->other_variant++;
}

/* Take bytes data[0..n) of the file: complete lines are counted, the rest kept. */
static void take(struct nginx_log *log, struct metric_set *set, const char *data, size_t n)
{
	const char *p = data, *end = data + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			if (!log->overlong)
				buf_add(&log->partial, p, (size_t)(end - p));
			if (log->partial.len > LINE_MAX_BYTES) {
				log->overlong = true;
				buf_clear(&log->partial);
			}
			return;
		}
		if (log->overlong) {
			log->lines++;
			log->bad_lines++;
			log->overlong = false;
		} else if (log->partial.len) {
			buf_add(&log->partial, p, (size_t)(nl - p));
			if (log->partial.len > LINE_MAX_BYTES) {
				log->lines++;
				log->bad_lines++;
			} else {
				count_line(log, set, log->partial.ptr, log->partial.len);
			}
			buf_clear(&log->partial);
		} else if ((size_t)(nl - p) > LINE_MAX_BYTES) {
			log->lines++;
			log->bad_lines++;
		} else {
			count_line(log, set, p, (size_t)(nl - p));
		}
		p = nl + 1;
	}
}

static int read_to_eof(struct nginx_log *log, struct metric_set *set)
{
	char *chunk = xmalloc(CHUNK);
	int rc = 0;
	for (;;) {
		ssize_t r = read(log->fd, chunk, CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = error_set(CRATIS_EIO, "cannot read '%s': %s", log->path, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if (log->head_len < sizeof log->head && log->offset < (off_t)sizeof log->head) {
			size_t k = sizeof log->head - (size_t)log->offset;
			if (k > (size_t)r)
				k = (size_t)r;
			memcpy(log->head + log->offset, chunk, k);
			log->head_len = (size_t)log->offset + k;
		}
		log->offset += r;
		take(log, set, chunk, (size_t)r);
	}
	free(chunk);
	return rc;
}

/* Open the file at log->path from its start (or, after metrics_state_load, at the saved offset
 * when it is still the same file); a missing file leaves fd -1. */
static int open_log(struct nginx_log *log)
{
	off_t resume = log->resume_offset;
	log->resume_offset = 0;
	int fd = open(log->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return error_set(CRATIS_EIO, "cannot open '%s': %s", log->path, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return error_set(CRATIS_EIO, "cannot stat '%s': %s", log->path, strerror(e));
	}
	log->fd = fd;
	if (resume > 0 && st.st_dev == log->dev && st.st_ino == log->ino && st.st_size >= resume &&
	    lseek(fd, resume, SEEK_SET) == resume) {
		log->offset = resume;   /* head, partial line and overlong as saved */
		return 0;
	}
	if (resume > 0)
		log->rotations++;
	log->dev = st.st_dev;
	log->ino = st.st_ino;
	log->offset = 0;
	log->head_len = 0;
	buf_clear(&log->partial);
	log->overlong = false;
	return 0;
}

int nginx_log_read(struct nginx_log *log, struct metric_set *set)
{
	int rc;
	if (log->fd < 0) {
		if ((rc = open_log(log)) != 0 || log->fd < 0)
			return rc;
	} else {
		struct stat st;
		if (fstat(log->fd, &st) != 0)
			return error_set(CRATIS_EIO, "cannot stat '%s': %s", log->path, strerror(errno));
		char head[sizeof log->head];
		bool rewritten = false;
		if (st.st_size >= log->offset && log->head_len > 0) {
			ssize_t r = pread(log->fd, head, log->head_len, 0);
			if (r < 0)
				return error_set(CRATIS_EIO, "cannot read '%s': %s", log->path, strerror(errno));
			rewritten = (size_t)r != log->head_len || memcmp(head, log->head, log->head_len) != 0;
		}
		if (st.st_size < log->offset || rewritten) {   /* truncated in place (copytruncate) */
			if (lseek(log->fd, 0, SEEK_SET) < 0)
				return error_set(CRATIS_EIO, "cannot seek '%s': %s", log->path, strerror(errno));
			log->offset = 0;
			log->head_len = 0;
			buf_clear(&log->partial);
			log->overlong = false;
			log->rotations++;
		}
	}
	if ((rc = read_to_eof(log, set)) != 0)
		return rc;
	struct stat st;
	if (stat(log->path, &st) != 0) {
		if (errno == ENOENT)   /* moved away, not yet reopened by nginx */
			return 0;
		return error_set(CRATIS_EIO, "cannot stat '%s': %s", log->path, strerror(errno));
	}
	if (st.st_ino == log->ino && st.st_dev == log->dev)
		return 0;
	/* replaced: the old file was read to its end; its unterminated tail is a last line */
	if (log->partial.len && !log->overlong)
		count_line(log, set, log->partial.ptr, log->partial.len);
	close(log->fd);
	log->fd = -1;
	log->rotations++;
	if ((rc = open_log(log)) != 0 || log->fd < 0)
		return rc;
	return read_to_eof(log, set);
}
