/* Saving and restoring the metrics of an experiment (counts, users, reservoirs, the access log's
 * read position), so that a restarted controller resumes where it left (issue 12). */
#include "experiment/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/banned.h"
#include "util/error.h"
#include "util/util.h"

#define STATE_MAGIC "cratis-metrics\n"
#define STATE_VERSION 1u

static void put_u64(struct buf *b, uint64_t x)
{
	unsigned char v[8];
	for (int i = 0; i < 8; i++)
		v[i] = (unsigned char)(x >> (8 * i));
	buf_add(b, v, 8);
}

static void put_f64(struct buf *b, double x)
{
	uint64_t u;
	memcpy(&u, &x, sizeof u);
	put_u64(b, u);
}

static void put_str(struct buf *b, const char *s, size_t n)
{
	put_u64(b, n);
	buf_add(b, s, n);
}

struct reader {
	const unsigned char *p, *end;
	bool bad;
};

static uint64_t get_u64(struct reader *r)
{
	if (r->bad || r->end - r->p < 8) {
		r->bad = true;
		return 0;
	}
	uint64_t x = 0;
	for (int i = 0; i < 8; i++)
		x |= (uint64_t)r->p[i] << (8 * i);
	r->p += 8;
	return x;
}

static double get_f64(struct reader *r)
{
	uint64_t u = get_u64(r);
	double x;
	memcpy(&x, &u, sizeof x);
	return x;
}

/* n bytes, borrowed from the data; NULL when fewer are left. */
static const void *get_bytes(struct reader *r, uint64_t n)
{
	if (r->bad || (uint64_t)(r->end - r->p) < n) {
		r->bad = true;
		return NULL;
	}
	const void *s = r->p;
	r->p += n;
	return s;
}

/* A count of items of at least min_size bytes each that the rest of the data can hold. */
static uint64_t get_count(struct reader *r, size_t min_size)
{
	uint64_t n = get_u64(r);
	if (!r->bad && n > (uint64_t)(r->end - r->p) / min_size)
		r->bad = true;
	return r->bad ? 0 : n;
}

static void put_users(struct buf *b, const struct metric_users *u, bool values)
{
	put_u64(b, u->n);
	for (size_t i = 0; i < u->cap; i++) {
		const struct metric_user *e = &u->slots[i];
		if (!e->key)
			continue;
		put_u64(b, e->key);
		unsigned char f[4] = { (unsigned char)e->flags, (unsigned char)(e->flags >> 8),
		                       (unsigned char)(e->flags >> 16), (unsigned char)(e->flags >> 24) };
		buf_add(b, f, 4);
		if (values) {
			put_u64(b, e->count);
			put_f64(b, e->sum);
		}
	}
}

void metrics_state_save(struct buf *out, const struct metric_set *set, const struct nginx_log *log)
{
	buf_adds(out, STATE_MAGIC);
	put_u64(out, STATE_VERSION);
	put_u64(out, set->n_variants);
	for (size_t v = 0; v < set->n_variants; v++)
		put_str(out, set->variants[v], strlen(set->variants[v]));
	put_u64(out, set->n_metrics);
	for (size_t m = 0; m < set->n_metrics; m++) {
		put_str(out, set->defs[m].name, strlen(set->defs[m].name));
		put_u64(out, set->defs[m].kind);
	}
	put_u64(out, set->rng);
	for (size_t v = 0; v < set->n_variants; v++) {
		put_f64(out, set->exposures[v]);
		put_users(out, &set->seen_users[v], false);
	}
	for (size_t m = 0; m < set->n_metrics; m++)
		for (size_t v = 0; v < set->n_variants; v++) {
			const struct metric_acc *a = &set->acc[m][v];
			put_f64(out, a->exposures);
			put_f64(out, a->conversions);
			put_f64(out, a->n);
			put_f64(out, a->sum);
			put_f64(out, a->sumsq);
			put_u64(out, a->seen);
			put_u64(out, a->n_values);
			for (size_t i = 0; i < a->n_values; i++)
				put_f64(out, a->values[i]);
			put_users(out, &a->users, true);
		}
	put_u64(out, log ? 1 : 0);
	if (!log)
		return;
	put_u64(out, (uint64_t)log->dev);
	put_u64(out, (uint64_t)log->ino);
	put_u64(out, (uint64_t)log->offset);
	put_str(out, log->head, log->head_len);
	put_str(out, log->partial.ptr, log->partial.len);
	put_u64(out, log->overlong);
	put_u64(out, log->lines);
	put_u64(out, log->bad_lines);
	put_u64(out, log->other_variant);
	put_u64(out, log->rotations);
}

static void get_users(struct reader *r, struct metric_users *u, bool values)
{
	uint64_t n = get_count(r, values ? 28 : 12);
	for (uint64_t i = 0; i < n && !r->bad; i++) {
		uint64_t key = get_u64(r);
		const unsigned char *f = get_bytes(r, 4);
		if (r->bad || key == 0) {
			r->bad = true;
			return;
		}
		bool fresh;
		struct metric_user *e = metric_users_get(u, key, &fresh);
		if (!fresh) {
			r->bad = true;
			return;
		}
		e->flags = (uint32_t)f[0] | (uint32_t)f[1] << 8 | (uint32_t)f[2] << 16 | (uint32_t)f[3] << 24;
		if (values) {
			e->count = (uint32_t)get_u64(r);
			e->sum = get_f64(r);
		}
	}
}

static bool name_is(struct reader *r, const char *want)
{
	uint64_t n = get_count(r, 1);
	const char *s = get_bytes(r, n);
	return s && n == strlen(want) && memcmp(s, want, n) == 0;
}

int metrics_state_load(struct metric_set *set, struct nginx_log *log, const void *data, size_t len)
{
	struct reader r = { data, (const unsigned char *)data + len, false };
	metric_set_clear(set);
	const char *magic = get_bytes(&r, strlen(STATE_MAGIC));
	if (!magic || memcmp(magic, STATE_MAGIC, strlen(STATE_MAGIC)) != 0)
		return error_set(CRATIS_EINVAL, "not a saved metrics state");
	uint64_t version = get_u64(&r);
	if (r.bad || version != STATE_VERSION)
		return error_set(CRATIS_EINVAL, "saved metrics state: version %llu, this cratis reads %u",
		                 (unsigned long long)version, STATE_VERSION);
	bool same = get_u64(&r) == set->n_variants;
	for (size_t v = 0; same && v < set->n_variants; v++)
		same = name_is(&r, set->variants[v]);
	same = same && get_u64(&r) == set->n_metrics;
	for (size_t m = 0; same && m < set->n_metrics; m++)
		same = name_is(&r, set->defs[m].name) && get_u64(&r) == set->defs[m].kind;
	if (!same || r.bad)
		return error_set(CRATIS_EINVAL, "saved metrics state is of other variants or metrics");
	set->rng = get_u64(&r);
	for (size_t v = 0; v < set->n_variants && !r.bad; v++) {
		set->exposures[v] = get_f64(&r);
		get_users(&r, &set->seen_users[v], false);
	}
	for (size_t m = 0; m < set->n_metrics && !r.bad; m++)
		for (size_t v = 0; v < set->n_variants && !r.bad; v++) {
			struct metric_acc *a = &set->acc[m][v];
			a->exposures = get_f64(&r);
			a->conversions = get_f64(&r);
			a->n = get_f64(&r);
			a->sum = get_f64(&r);
			a->sumsq = get_f64(&r);
			a->seen = get_u64(&r);
			uint64_t nv = get_count(&r, 8);
			if (nv > set->defs[m].reservoir) {
				r.bad = true;
				break;
			}
			if (nv) {
				a->values = xmalloc(set->defs[m].reservoir * sizeof *a->values);
				for (uint64_t i = 0; i < nv; i++)
					a->values[i] = get_f64(&r);
				a->n_values = nv;
			}
			get_users(&r, &a->users, true);
		}
	bool has_log = get_u64(&r) != 0;
	struct nginx_log saved = { 0 };
	const char *head = NULL, *partial = NULL;
	uint64_t partial_len = 0;
	if (has_log && !r.bad) {
		saved.dev = (dev_t)get_u64(&r);
		saved.ino = (ino_t)get_u64(&r);
		saved.offset = (off_t)get_u64(&r);
		saved.head_len = get_count(&r, 1);
		head = get_bytes(&r, saved.head_len);
		partial_len = get_count(&r, 1);
		partial = get_bytes(&r, partial_len);
		saved.overlong = get_u64(&r) != 0;
		saved.lines = get_u64(&r);
		saved.bad_lines = get_u64(&r);
		saved.other_variant = get_u64(&r);
		saved.rotations = get_u64(&r);
		if (saved.head_len > sizeof saved.head || saved.offset < 0 || partial_len > (64u << 10))
			r.bad = true;
	}
	if (r.bad || r.p != r.end) {
		metric_set_clear(set);
		return error_set(CRATIS_EINVAL, "saved metrics state is damaged (%s)",
		                 r.bad ? "truncated or out of range" : "bytes after its end");
	}
	if (!log || !has_log)
		return 0;
	log->lines = saved.lines;
	log->bad_lines = saved.bad_lines;
	log->other_variant = saved.other_variant;
	log->rotations = saved.rotations;
	int fd = open(log->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char now[sizeof saved.head];
	bool resume = fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == saved.dev &&
	              st.st_ino == saved.ino && st.st_size >= saved.offset &&
	              pread(fd, now, saved.head_len, 0) == (ssize_t)saved.head_len &&
	              memcmp(now, head, saved.head_len) == 0 &&
	              lseek(fd, saved.offset, SEEK_SET) == saved.offset;
	if (fd >= 0)
		close(fd);
	if (resume) {
		/* the next read opens the file afresh and skips to the saved position */
		log->resume_offset = saved.offset;
		log->dev = saved.dev;
		log->ino = saved.ino;
		memcpy(log->head, head, saved.head_len);
		log->head_len = saved.head_len;
		buf_clear(&log->partial);
		buf_add(&log->partial, partial, partial_len);
		log->overlong = saved.overlong;
	} else {
		log->rotations++;
	}
	return 0;
}
