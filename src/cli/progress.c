/* The CLI's progress renderer (progress.h): event lines on stderr, a live view of the running
 * resources on a terminal, "still creating" lines elsewhere, streamed Task output, colour. */
#define _GNU_SOURCE
#include "progress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "util/buf.h"
#include "util/util.h"
#include "banned.h"

/* At most this many running resources get a line of their own in the live view. */
#define LIVE_MAX 12

struct running {
	char *id;
	enum action action;
	int64_t started_ms;          /* now_ms() when it started */
	int64_t reported;            /* "still creating" lines printed for it */
};

struct progress {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	FILE *out;                   /* stderr */
	bool live;                   /* a terminal: draw the live view */
	bool color, stream, verbose;
	int64_t interval_ms;         /* off a terminal: between "still creating" lines */
	struct running *v;
	size_t n, alloc;
	size_t drawn;                /* lines of the live view on the screen now */
	bool ticking, stopping;
	pthread_t ticker;
};

static const char *const doing[] = { "", "creating", "updating", "replacing", "deleting" };
static const char *const done_word[] = { "", "created", "updated", "replaced", "deleted" };

int64_t progress_interval_ms(const char *s)
{
	if (!s || !*s)
		return 10000;
	char *end;
	double v = strtod(s, &end);
	if (*end || !(v > 0) || v > 86400)
		return 10000;
	int64_t ms = (int64_t)(v * 1000);
	return ms > 0 ? ms : 1;
}

struct progress *progress_new(const struct cli_ctx *ctx)
{
	struct progress *p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->out = stderr;
	const char *term = getenv("TERM");
	p->live = isatty(STDERR_FILENO) && !(term && !strcmp(term, "dumb"));
	p->color = cli_color(ctx, stderr);
	p->stream = ctx->stream || ctx->verbose;
	p->verbose = ctx->verbose;
	p->interval_ms = progress_interval_ms(getenv("CRATIS_PROGRESS_INTERVAL"));
	return p;
}

static const char *sgr(const struct progress *p, const char *code)
{
	return p->color ? code : "";
}

/* The terminal's width in columns (80 when unknown). */
static size_t columns(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* Append the sequence that erases the live view (cursor up over it, erase to the end of the
 * screen). Caller holds mu. */
static void erase_live(struct progress *p, struct buf *b)
{
	if (p->drawn)
		buf_addf(b, "\r\033[%zuA\033[J", p->drawn);
	p->drawn = 0;
}

/* Append the live view: a line per running resource, cut to the terminal's width so that none
 * wraps (the erase counts lines). Caller holds mu. */
static void draw_live(struct progress *p, struct buf *b)
{
	if (!p->live || !p->n)
		return;
	int64_t now = now_ms();
	size_t width = columns(), shown = p->n > LIVE_MAX ? LIVE_MAX - 1 : p->n;
	struct buf line = BUF_INIT;
	for (size_t i = 0; i < shown; i++) {
		const struct running *r = &p->v[i];
		buf_clear(&line);
		buf_addf(&line, "%s: %s... [%llds]", r->id, doing[r->action], (long long)((now - r->started_ms) / 1000));
		size_t len = line.len < width - 1 ? line.len : width - 1;
		buf_addf(b, "%s%.*s%s\n", sgr(p, "\033[36m"), (int)len, line.ptr, sgr(p, "\033[0m"));
	}
	if (shown < p->n)
		buf_addf(b, "... and %zu more running\n", p->n - shown);
	p->drawn = shown + (shown < p->n);
	buf_release(&line);
}

/* Write b (whole lines that scroll) above the live view, then redraw the view. Caller holds mu. */
static void put(struct progress *p, const struct buf *b)
{
	struct buf frame = BUF_INIT;
	erase_live(p, &frame);
	buf_add(&frame, b->ptr, b->len);
	draw_live(p, &frame);
	fwrite(frame.ptr, 1, frame.len, p->out);
	fflush(p->out);
	buf_release(&frame);
}

/* Off a terminal: a "still creating" line per resource running for another interval; on one:
 * the live view redrawn with new elapsed times. Caller holds mu. */
static void tick(struct progress *p)
{
	struct buf b = BUF_INIT;
	if (p->live) {
		if (p->n)
			put(p, &b);
		buf_release(&b);
		return;
	}
	int64_t now = now_ms();
	for (size_t i = 0; i < p->n; i++) {
		struct running *r = &p->v[i];
		int64_t periods = (now - r->started_ms) / p->interval_ms;
		if (periods > r->reported) {
			r->reported = periods;
			buf_addf(&b, "%s: still %s... [%llds elapsed]\n", r->id, doing[r->action], (long long)((now - r->started_ms) / 1000));
		}
	}
	if (b.len)
		put(p, &b);
	buf_release(&b);
}

static void *ticker(void *arg)
{
	struct progress *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!p->stopping) {
		/* a terminal's view shows seconds; off one, a quarter of the interval keeps the lines
		 * close to their time without waking often */
		int64_t wait_ms = p->live ? 1000 : p->interval_ms / 4;
		if (wait_ms < 50)
			wait_ms = 50;
		if (wait_ms > 1000)
			wait_ms = 1000;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		if (!p->stopping)
			tick(p);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->cv);
	bool joined = p->ticking;
	pthread_mutex_unlock(&p->mu);
	if (joined)
		pthread_join(p->ticker, NULL);
	if (p->drawn) {
		struct buf b = BUF_INIT;
		erase_live(p, &b);
		fwrite(b.ptr, 1, b.len, p->out);
		fflush(p->out);
		buf_release(&b);
	}
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].id);
	free(p->v);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* Caller holds mu. */
static void add_running(struct progress *p, const struct engine_event *ev)
{
	if (p->n == p->alloc) {
		p->alloc = p->alloc ? p->alloc * 2 : 8;
		p->v = xrealloc(p->v, p->alloc * sizeof(*p->v));
	}
	p->v[p->n++] = (struct running){ xstrdup(ev->resource), ev->action, now_ms(), 0 };
	if (!p->ticking && !p->stopping && !pthread_create(&p->ticker, NULL, ticker, p))
		p->ticking = true; /* without a ticker the lines still come, only the view stands still */
}

/* Caller holds mu. */
static void remove_running(struct progress *p, const char *id)
{
	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->v[i].id, id))
			continue;
		free(p->v[i].id);
		memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof(*p->v));
		p->n--;
		return;
	}
}

void progress_event(const struct engine_event *ev, void *payload)
{
	struct progress *p = payload;
	static const char *const tag[] = { "debug: ", "", "warning: ", "error: " };
	static const char *const tag_colour[] = { "", "", "\033[33m", "\033[31m" };
	const char *msg = ev->message ? ev->message : "";
	const char *res = ev->resource ? ev->resource : "";
	const char *off = sgr(p, "\033[0m");
	struct buf b = BUF_INIT;
	pthread_mutex_lock(&p->mu);
	switch (ev->type) {
	case EV_RESOURCE_STARTED:
		buf_addf(&b, "%s: %s\n", res, doing[ev->action]);
		add_running(p, ev);
		break;
	case EV_RESOURCE_RUNNING:
		break; /* the ticker says it, at CRATIS_PROGRESS_INTERVAL */
	case EV_RESOURCE_FINISHED:
		remove_running(p, res);
		buf_addf(&b, "%s: %s%s%s in %.2fs\n", res, sgr(p, "\033[32m"), done_word[ev->action], off,
		         (double)ev->elapsed_ms / 1000.0);
		break;
	case EV_RESOURCE_FAILED:
		remove_running(p, res);
		buf_addf(&b, "%serror:%s %s: %s failed: %s\n", sgr(p, "\033[31m"), off, res, action_names[ev->action], msg);
		break;
	case EV_RESOURCE_INTERRUPTED:
		remove_running(p, res);
		buf_addf(&b, "%s: %s %sinterrupted%s after %.2fs\n", res, action_names[ev->action], sgr(p, "\033[33m"), off,
		         (double)ev->elapsed_ms / 1000.0);
		break;
	case EV_RESOURCE_SKIPPED:
		if (strcmp(msg, "cancelled"))
			buf_addf(&b, "%swarning:%s %s: %s\n", sgr(p, "\033[33m"), off, res, msg);
		break;
	case EV_LOG:
		if (p->stream && ev->level == CRATIS_LOG_DEBUG && ev->resource) {
			/* --stream (-v): a Task's output line, prefixed by its address */
			buf_addf(&b, "%s: %s\n", res, msg);
			break;
		}
		if (ev->level < CRATIS_LOG_INFO && !p->verbose)
			break;
		if (ev->resource)
			buf_addf(&b, "%s%s%s  %s: %s\n", sgr(p, tag_colour[ev->level & 3]), tag[ev->level & 3],
			         *tag[ev->level & 3] ? off : "", res, msg);
		else
			buf_addf(&b, "%s%s%s%s\n", sgr(p, tag_colour[ev->level & 3]), tag[ev->level & 3],
			         *tag[ev->level & 3] ? off : "", msg);
		break;
	case EV_WARNING:
		buf_addf(&b, "%swarning:%s %s\n", sgr(p, "\033[33m"), off, msg);
		break;
	case EV_STAGE:
	case EV_EMIT:
	case EV_DEPLOYMENT_STARTED:
	case EV_DEPLOYMENT_FINISHED:
		break;
	}
	if (b.len)
		put(p, &b);
	pthread_mutex_unlock(&p->mu);
	buf_release(&b);
}
