/* The dispatcher (dispatch.h). */
#define _GNU_SOURCE
#include "events/dispatch.h"
#include "events/sink_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util/error.h"
#include "util/util.h"
#include "banned.h"

static void real_sleep(void *payload, int64_t ms)
{
	(void)payload;
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static uint64_t jitter_random(void)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint64_t)now_ms() * 6364136223846793005ULL;
	return r;
}

/* ms since the epoch of an RFC 3339 UTC time ("2026-12-01T11:51:52.123Z"), or -1. */
static int64_t parse_time(const char *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *rest = t ? strptime(t, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!rest)
		return -1;
	int64_t ms = (int64_t)timegm(&tm) * 1000;
	if (rest[0] == '.') {
		int64_t frac = 0, scale = 100;
		for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
			frac += (*rest - '0') * scale;
		ms += frac;
	}
	return ms;
}

static bool matches(char *const *pats, size_t n, const char *v)
{
	if (!n)
		return true;
	for (size_t i = 0; i < n; i++)
		if (cloud_event_match(pats[i], v))
			return true;
	return false;
}

static bool blocked(const struct strv *b, const char *subject)
{
	const char *k = subject ? subject : "";
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->v[i], k))
			return true;
	return false;
}

static void block(struct strv *b, const char *subject)
{
	if (!blocked(b, subject))
		strv_push(b, subject ? subject : "");
}

static int mark(struct store *st, const struct sink_config *cfg, const struct event_delivery *d, enum delivery_status status,
                int attempts, int64_t first, int64_t next, const char *error)
{
	struct delivery_mark m = { .status = status, .attempts = attempts, .first_attempt_ms = first, .next_attempt_ms = next,
	                           .error = error };
	return store_delivery_mark(st, cfg->name, d->ev.seq, &m);
}

/* Deliveries confirmed by the sink and not yet marked: written in one transaction per batch
 * (a crash before that only means they are sent again: at least once). */
#define MARK_BATCH 256
struct marks {
	struct delivery_mark v[MARK_BATCH];
	size_t n;
};

/* Make what the sink confirmed durable (a file sink fsyncs once per batch), then mark it. A
 * sync that fails marks nothing: those events stay pending and are sent again. */
static int flush(struct store *st, struct sink *s, const struct sink_config *cfg, struct marks *mk,
                 struct dispatch_result *res)
{
	int rc = CRATIS_OK;
	if (sink_file_sync(s)) {
		snprintf(res->message, sizeof(res->message), "%.200s", cratis_error_last()->message);
		res->delivered -= mk->n < res->delivered ? mk->n : res->delivered;
		res->left += mk->n;
	} else {
		rc = store_delivery_marks(st, cfg->name, mk->v, mk->n);
	}
	mk->n = 0;
	return rc;
}

static int delivered(struct store *st, struct sink *s, const struct sink_config *cfg, struct marks *mk,
                     const struct event_delivery *d, int attempts, int64_t first, struct dispatch_result *res)
{
	mk->v[mk->n++] = (struct delivery_mark){ .seq = d->ev.seq, .status = DELIVERY_DELIVERED, .attempts = attempts,
	                                         .first_attempt_ms = first };
	res->delivered++;
	return mk->n == MARK_BATCH ? flush(st, s, cfg, mk, res) : CRATIS_OK;
}

int dispatch_sink(struct store *st, struct sink *s, const struct sink_config *cfg, const struct dispatch_opts *o,
                  struct dispatch_result *res)
{
	memset(res, 0, sizeof(*res));
	void (*sleep_fn)(void *, int64_t) = o->sleep_ms ? o->sleep_ms : real_sleep;
	struct store_sink_status status;
	int rc = store_sink_status(st, cfg->name, &status);
	if (rc)
		return rc;
	res->disabled = status.disabled;
	if (status.disabled)
		snprintf(res->message, sizeof(res->message), "disabled: %.200s", status.reason ? status.reason : "(no reason recorded)");
	store_sink_status_release(&status);
	if (res->disabled) {
		struct store_sink_status again;
		if (!(rc = store_sink_status(st, cfg->name, &again)))
			res->left = (size_t)again.backlog;
		store_sink_status_release(&again);
		return rc;
	}
	int max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 12;
	bool stop = false;
	struct marks *mk = xcalloc(1, sizeof(*mk));
	sink_file_defer_sync(s, true); /* a file sink: one fsync per batch of marks */
	while (!rc && !stop) {
		struct event_deliveries pend;
		if ((rc = store_deliveries(st, cfg->name, 0, &pend)))
			break;
		struct strv held = STRV_INIT;
		int64_t next_due = -1;
		bool sent_any = false;
		res->left = 0;
		for (size_t i = 0; i < pend.n && !rc; i++) {
			const struct event_delivery *d = &pend.v[i];
			const struct cloud_event *ev = &d->ev;
			if (!matches(cfg->types, cfg->ntypes, ev->type) || !matches(cfg->subjects, cfg->nsubjects, ev->subject)) {
				if (!(rc = mark(st, cfg, d, DELIVERY_SKIPPED, d->attempts, d->first_attempt_ms, 0, NULL)))
					res->skipped++;
				continue;
			}
			int64_t now = store_now(st);
			if (stop || blocked(&held, ev->subject) || now >= o->deadline_ms || (o->cancel && *o->cancel)) {
				res->left++;
				continue;
			}
			int64_t born = parse_time(ev->time);
			if (cfg->max_age_ms > 0 && born >= 0 && now - born > cfg->max_age_ms) {
				char why[160];
				snprintf(why, sizeof(why), "dead letter: older than maxAge (%lld ms)", (long long)cfg->max_age_ms);
				if (!(rc = mark(st, cfg, d, DELIVERY_DEAD, d->attempts, d->first_attempt_ms, 0, why)))
					res->dead++;
				continue;
			}
			if (d->next_attempt_ms > now) {
				block(&held, ev->subject);
				res->left++;
				if (next_due < 0 || d->next_attempt_ms < next_due)
					next_due = d->next_attempt_ms;
				continue;
			}
			struct send_result sr;
			int64_t first = d->first_attempt_ms ? d->first_attempt_ms : now;
			int src = sink_send(s, ev, now, &sr);
			sent_any = true;
			if (src == CRATIS_EINVAL) {
				sr.outcome = SEND_REJECTED;
				snprintf(sr.message, sizeof(sr.message), "cannot encode the event: %.200s", cratis_error_last()->message);
			} else if (src) {
				rc = src;
				break;
			}
			int attempts = d->attempts + 1;
			switch (sr.outcome) {
			case SEND_OK:
				rc = delivered(st, s, cfg, mk, d, attempts, first, res);
				break;
			case SEND_REJECTED:
				snprintf(res->message, sizeof(res->message), "%s", sr.message);
				if (!(rc = mark(st, cfg, d, DELIVERY_DEAD, attempts, first, 0, sr.message)))
					res->dead++;
				break;
			case SEND_GONE:
				snprintf(res->message, sizeof(res->message), "disabled: %.200s", sr.message);
				if (!(rc = mark(st, cfg, d, DELIVERY_PENDING, attempts, first, 0, sr.message)))
					rc = store_sink_set_disabled(st, cfg->name, true, sr.message[0] ? sr.message : "the receiver answered 410 Gone");
				res->disabled = true;
				res->left++;
				stop = true;
				break;
			case SEND_RETRY:
				snprintf(res->message, sizeof(res->message), "%s", sr.message);
				if (attempts >= max_attempts) {
					char why[320];
					snprintf(why, sizeof(why), "dead letter after %d attempts: %s", attempts, sr.message);
					if (!(rc = mark(st, cfg, d, DELIVERY_DEAD, attempts, first, 0, why)))
						res->dead++;
				} else {
					int64_t wait = sink_backoff_ms(cfg, attempts, sr.retry_after_ms, jitter_random());
					int64_t due = now + wait;
					if (!(rc = mark(st, cfg, d, DELIVERY_PENDING, attempts, first, due, sr.message)))
						res->retrying++;
					block(&held, ev->subject);
					res->left++;
					if (next_due < 0 || due < next_due)
						next_due = due;
				}
				break;
			}
		}
		strv_release(&held);
		store_deliveries_release(&pend);
		int frc = flush(st, s, cfg, mk, res);
		if (!rc)
			rc = frc;
		if (rc || stop || (o->cancel && *o->cancel))
			break;
		int64_t now = store_now(st);
		if (res->left == 0 || now >= o->deadline_ms)
			break;
		if (next_due < 0) {
			if (!sent_any)
				break; /* nothing due and nothing waiting: done */
			continue;
		}
		if (next_due >= o->deadline_ms)
			break; /* the next retry falls after the deadline: leave it for the next run */
		if (next_due > now)
			sleep_fn(o->payload, next_due - now);
	}
	free(mk);
	return rc;
}

int dispatch_all(struct store *st, const struct sink_config *cfgs, size_t n, const struct dispatch_opts *o,
                 struct dispatch_result *res)
{
	int first = CRATIS_OK;
	for (size_t i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		struct sink *s;
		int rc = sink_open(&s, &cfgs[i]);
		if (rc) {
			res[i].open_status = rc;
			snprintf(res[i].message, sizeof(res[i].message), "%s", cratis_error_last()->message);
			struct store_sink_status ss;
			if (!store_sink_status(st, cfgs[i].name, &ss))
				res[i].left = (size_t)ss.backlog;
			store_sink_status_release(&ss);
			continue;
		}
		rc = dispatch_sink(st, s, &cfgs[i], o, &res[i]);
		sink_close(s);
		if (rc && !first)
			first = rc;
	}
	return first;
}
