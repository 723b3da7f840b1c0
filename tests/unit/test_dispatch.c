/* The dispatcher (src/events/dispatch.c) against a scripted sink: a test-only struct sink whose
 * vtable answers a scripted sequence of outcomes and records what it was sent, over a real
 * SQLite outbox on an injected clock (the dispatcher's waits advance it). */
#include "helpers.h"

#include <sys/stat.h>

#include "events/dispatch.h"
#include "events/sink_internal.h"
#include "state/store.h"

struct fake_calls fake_calls;

struct scripted {
	struct sink pub;
	const enum send_outcome *script;
	size_t nscript, next;
	int64_t retry_after_ms;     /* given with every SEND_RETRY */
	char sent[64][48];          /* subjects (or types) of what was sent, in order */
	size_t nsent;
};

static int scripted_send(struct sink *s, const struct cloud_event *ev, int64_t now, struct send_result *res)
{
	(void)now;
	struct scripted *x = (struct scripted *)s;
	assert_true(x->nsent < 64);
	snprintf(x->sent[x->nsent++], 48, "%s %s", ev->subject ? ev->subject : "-", ev->type);
	res->outcome = x->next < x->nscript ? x->script[x->next++] : SEND_OK;
	res->retry_after_ms = res->outcome == SEND_RETRY ? x->retry_after_ms : -1;
	snprintf(res->message, sizeof(res->message), "%s", res->outcome == SEND_OK ? "" : res->outcome == SEND_RETRY ? "HTTP 503" :
	                                                     res->outcome == SEND_GONE ? "HTTP 410 Gone" : "HTTP 400");
	return CRATIS_OK;
}

static void scripted_close(struct sink *s)
{
	(void)s; /* on the test's stack */
}

static const struct sink_vtable scripted_vt = { scripted_send, scripted_close };

struct fx {
	char *dir;
	struct store *s;
	int64_t now;
	struct sink_config cfg;
	struct scripted sink;
};

static int64_t clock_fn(void *payload)
{
	return *(int64_t *)payload;
}

static void sleep_fn(void *payload, int64_t ms)
{
	*(int64_t *)payload += ms;
}

static int setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	f->dir = tmp_dir();
	char *path = xasprintf("%s/state.db", f->dir);
	assert_int_equal(store_open(&f->s, path), 0);
	free(path);
	f->now = 1796126400000;
	store_set_clock(f->s, clock_fn, &f->now);
	f->cfg = (struct sink_config){ .name = "t", .kind = SINK_FILE, .timeout_ms = 1000, .max_attempts = 5,
	                               .max_age_ms = 3600000, .backoff_initial_ms = 100, .backoff_max_ms = 1000 };
	f->sink.pub.vt = &scripted_vt;
	f->sink.pub.cfg = &f->cfg;
	f->sink.retry_after_ms = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->s);
	tmp_cleanup(f->dir);
	free(f);
	return 0;
}

static void emit(struct fx *f, const char *type, const char *subject)
{
	struct store_event ev = { .type = type, .subject = subject, .source = "/projects/p/environments/dev", .data = "{}" };
	assert_int_equal(store_emit(f->s, "dev", 0, &ev, 1), 0);
}

static void script(struct fx *f, const enum send_outcome *v, size_t n)
{
	f->sink.script = v;
	f->sink.nscript = n;
	f->sink.next = 0;
	f->sink.nsent = 0;
}

static struct dispatch_opts opts(struct fx *f, int64_t budget_ms)
{
	return (struct dispatch_opts){ .deadline_ms = f->now + budget_ms, .sleep_ms = sleep_fn, .payload = &f->now };
}

static int64_t backlog(struct fx *f)
{
	struct store_sink_status st;
	assert_int_equal(store_sink_status(f->s, f->cfg.name, &st), 0);
	int64_t b = st.backlog;
	store_sink_status_release(&st);
	return b;
}

/* A failed event blocks the later events of its subject, not the others; after its retry (the
 * dispatcher waits for it within the deadline) everything arrives, each subject in order. */
/* Durations of delivery settings: the units, and what is refused (fuzz_experiment_spec found
 * "1e300h" overflowing the conversion to int64_t, undefined behaviour, before the bound). */
static void test_dispatch_durations(void **state)
{
	(void)state;
	assert_int_equal(events_parse_duration("250ms"), 250);
	assert_int_equal(events_parse_duration("10s"), 10000);
	assert_int_equal(events_parse_duration("1.5"), 1500);
	assert_int_equal(events_parse_duration("5m"), 300000);
	assert_int_equal(events_parse_duration("24h"), 86400000);
	assert_int_equal(events_parse_duration("87600h"), 315360000000); /* 10 years: the bound */
	const char *bad[] = { NULL, "", "h", "10d", "-1s", "1e300h", "1e300", "nan", "NaN ms", "inf", "-inf", "87601h", "10 s" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (events_parse_duration(bad[i]) != -1)
			fail_msg("'%s' was taken as %lld ms", bad[i] ? bad[i] : "(null)", (long long)events_parse_duration(bad[i]));
	}
	assert_int_equal(events_duration_ms(1e300), -1);
	assert_int_equal(events_duration_ms(0.0 / 0.0), -1);
	assert_int_equal(events_duration_ms(2000.0), 2000);
}

static void test_dispatch_orders_per_subject(void **state)
{
	struct fx *f = *state;
	emit(f, "one", "a");
	emit(f, "two", "b");
	emit(f, "three", "a");
	/* a's first fails once: a's second waits, b's goes */
	static const enum send_outcome s[] = { SEND_RETRY, SEND_OK, SEND_OK, SEND_OK };
	script(f, s, 4);
	struct dispatch_opts o = opts(f, 60000);
	struct dispatch_result r;
	assert_int_equal(dispatch_sink(f->s, &f->sink.pub, &f->cfg, &o, &r), 0);
	assert_int_equal(f->sink.nsent, 4);
	assert_string_equal(f->sink.sent[0], "a one");
	assert_string_equal(f->sink.sent[1], "b two");
	assert_string_equal(f->sink.sent[2], "a one");
	assert_string_equal(f->sink.sent[3], "a three");
	assert_int_equal(r.delivered, 3);
	assert_int_equal(r.left, 0);
	assert_int_equal(backlog(f), 0);
	/* nothing is sent twice once delivered */
	script(f, NULL, 0);
	assert_int_equal(dispatch_sink(f->s, &f->sink.pub, &f->cfg, &o, &r), 0);
	assert_int_equal(f->sink.nsent, 0);
}

/* Retry-After is honoured: the retry waits at least that long (full jitter alone could be 0). */
static void test_dispatch_honours_retry_after(void **state)
{
	struct fx *f = *state;
	emit(f, "dev.cratis.resource.changed", "a");
	static const enum send_outcome s[] = { SEND_RETRY };
	script(f, s, 1);
	f->sink.retry_after_ms = 5000;
	int64_t t0 = f->now;
	struct dispatch_opts o = opts(f, 2000); /* the retry falls after the deadline: left pending */
	struct dispatch_result r;
	assert_int_equal(dispatch_sink(f->s, &f->sink.pub, &f->cfg, &o, &r), 0);
	assert_int_equal(f->sink.nsent, 1);
	assert_int_equal(r.retrying, 1);
	assert_int_equal(r.left, 1);
	struct event_deliveries d;
	assert_int_equal(store_deliveries(f->s, "t", 0, &d), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].attempts, 1);
	assert_true(d.v[0].next_attempt_ms >= t0 + 5000);
	store_deliveries_release(&d);
	assert_true(f->now == t0); /* it did not wait past the deadline */
	/* a later run, after the wait, delivers it */
	f->now += 5000;
	script(f, NULL, 0);
	o = opts(f, 2000);
	assert_int_equal(dispatch_sink(f->s, &f->sink.pub, &f->cfg, &o, &r), 0);
	assert_int_equal(r.delivered, 1);
	assert_int_equal(backlog(f), 0);
}

/* After maxAttempts the event is dead (a dead letter) and the next of its subject goes on;
 * a rejected event is dead at once; an event older than maxAge is dead without a send. */
static void test_dispatch_dead_letters(void **state)
{
	struct fx *f = *state;
	f->cfg.max_attempts = 2;
	emit(f, "dev.cratis.resource.changed", "a");
	emit(f, "dev.cratis.resource.changed", "a");
	emit(f, "dev.cratis.resource.failed", "b");
	/* sends: a#1 fails, b is rejected (dead), a#1 fails again (dead: 2 attempts), a#2 goes */
	static const enum send_outcome s[] = { SEND_RETRY, SEND_REJECTED, SEND_RETRY, SEND_OK };
	script(f, s, 4);
	struct dispatch_opts o = opts(f, 60000);
	struct dispatch_result r;
	assert_int_equal(dispatch_sink(f->s, &f->sink.pub, &f->cfg, &o, &r), 0);
	assert_int_equal(r.dead, 2);
	assert_int_equal(r.delivered, 1);
	struct store_sink_status st;
	assert_int_equal(store_sink_status(f->s, "t", &st), 0);
	assert_int_equal(st.dead, 2);
	assert_int_equal(st.backlog, 0);
	store_sink_status_release(&st);
	/* maxAge */
	emit(f, "dev.cratis.resource.changed", "c");
	f->now += f->cfg.max_age_ms + 1;
	script(f, NULL, 0);
	o = opts(f, 60000);
	assert_int_equal(dispatch_sink(f->s, &f->sink.pub, &f->cfg, &o, &r), 0);
	assert_int_equal(f->sink.nsent, 0);
	assert_int_equal(r.dead, 1);
}

/* 410 Gone disables the sink: nothing more is sent to it, its events stay pending. */
static void test_dispatch_gone_disables(void **state)
{
	struct fx *f = *state;
	emit(f, "dev.cratis.resource.changed", "a");
	emit(f, "dev.cratis.resource.changed", "b");
	static const enum send_outcome s[] = { SEND_GONE };
	script(f, s, 1);
	struct dispatch_opts o = opts(f, 60000);
	struct dispatch_result r;
	assert_int_equal(dispatch_sink(f->s, &f->sink.pub, &f->cfg, &o, &r), 0);
	assert_true(r.disabled);
	assert_int_equal(f->sink.nsent, 1);
	assert_int_equal(backlog(f), 2);
	script(f, NULL, 0);
	assert_int_equal(dispatch_sink(f->s, &f->sink.pub, &f->cfg, &o, &r), 0);
	assert_int_equal(f->sink.nsent, 0);
	assert_true(r.disabled);
	assert_int_equal(r.left, 2);
	/* enabled again: both arrive */
	assert_int_equal(store_sink_set_disabled(f->s, "t", false, NULL), 0);
	assert_int_equal(dispatch_sink(f->s, &f->sink.pub, &f->cfg, &o, &r), 0);
	assert_int_equal(r.delivered, 2);
}

/* Type and subject filters: what does not match is skipped (settled, never sent). */
static void test_dispatch_filters(void **state)
{
	struct fx *f = *state;
	char *types[] = { "dev.cratis.resource.*" };
	char *subjects[] = { "Task/*" };
	f->cfg.types = types;
	f->cfg.ntypes = 1;
	f->cfg.subjects = subjects;
	f->cfg.nsubjects = 1;
	emit(f, "dev.cratis.deployment.started", NULL);
	emit(f, "dev.cratis.resource.changed", "Task/a");
	emit(f, "dev.cratis.resource.changed", "Service/w");
	script(f, NULL, 0);
	struct dispatch_opts o = opts(f, 60000);
	struct dispatch_result r;
	assert_int_equal(dispatch_sink(f->s, &f->sink.pub, &f->cfg, &o, &r), 0);
	assert_int_equal(f->sink.nsent, 1);
	assert_string_equal(f->sink.sent[0], "Task/a dev.cratis.resource.changed");
	assert_int_equal(r.skipped, 2);
	assert_int_equal(backlog(f), 0);
	f->cfg.types = f->cfg.subjects = NULL;
	f->cfg.ntypes = f->cfg.nsubjects = 0;
}

/* The deadline bounds the run: nothing is sent after it, what is left stays pending. */
static void test_dispatch_deadline(void **state)
{
	struct fx *f = *state;
	emit(f, "dev.cratis.resource.changed", "a");
	script(f, NULL, 0);
	struct dispatch_opts o = opts(f, 0);
	struct dispatch_result r;
	assert_int_equal(dispatch_sink(f->s, &f->sink.pub, &f->cfg, &o, &r), 0);
	assert_int_equal(f->sink.nsent, 0);
	assert_int_equal(r.left, 1);
	assert_int_equal(backlog(f), 1);
}

/* sink_open picks the kind: a webhook (a refused connection is worth a retry) and a file. */
static void test_dispatch_sink_open(void **state)
{
	struct fx *f = *state;
	struct sink_config c = { .name = "w", .kind = SINK_WEBHOOK, .url = "http://127.0.0.1:1/" };
	struct sink *s;
	assert_int_equal(sink_open(&s, &c), 0);
	struct cloud_event wev = { .id = "0", .source = "/x", .type = "t" };
	struct send_result wres;
	assert_int_equal(sink_send(s, &wev, 0, &wres), 0);
	assert_int_equal(wres.outcome, SEND_RETRY);
	sink_close(s);
	char *path = xasprintf("%s/events.ndjson", f->dir);
	struct sink_config fc = { .name = "f", .kind = SINK_FILE, .path = path };
	assert_int_equal(sink_open(&s, &fc), 0);
	struct cloud_event ev = { .id = "1", .source = "/x", .type = "t", .data = "{\"a\":1}" };
	struct send_result res;
	assert_int_equal(sink_send(s, &ev, 0, &res), 0);
	assert_int_equal(res.outcome, SEND_OK);
	sink_close(s);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	FILE *fp = fopen(path, "r");
	char line[256];
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	assert_string_equal(line, "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/x\",\"type\":\"t\",\"datacontenttype\":\"application/json\",\"data\":{\"a\":1}}\n");
	free(path);
	/* data that is not JSON cannot be encoded */
	struct cloud_event badev = { .id = "2", .source = "/x", .type = "t", .data = "{nope" };
	char *out;
	assert_int_equal(cloud_event_to_json(&badev, &out), CRATIS_EINVAL);
}

/* cloud_event_to_json splices data already in jansson's compact form and falls back to jansson
 * for the rest: either way, the same bytes as the jansson-only encoding, and the same errors. */
static void test_event_json_fast_path_matches_jansson(void **state)
{
	(void)state;
	static const char *const datas[] = {
		NULL, "{}", "[]", "{\"a\":1}", "{\"deployment\":12,\"who\":\"root@vm\",\"counts\":{\"ok\":3,\"failed\":0}}",
		"{\"s\":\"q\\\"uo\\\\te\\n\\t/\"}", "[1,-2,0,true,false,null,\"x\",[],{}]", "123", "\"text\"", "null",
		"{\"a\": 1}", " {}", "{\"r\":1.5}", "{\"e\":1e3}", "{\"z\":-0}", "{\"u\":\"\\u0041\\u00e9\"}", "{\"sl\":\"\\/\"}",
		"{\"big\":123456789012345678901}", "{\"utf\":\"caf\xc3\xa9\"}", "{\"bad\":\"\xff\"}", "{\"dup\":1,\"dup\":2}",
		"{nope", "", "{\"a\":1}x", "[1,]", "{\"a\"}", "tru", "\"open", "{\"c\":\"\x01\"}", "01",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	};
	static const char *const subjects[] = { NULL, "Task/a", "Ta\"sk\\b", "Task/\xc3\xa9", "tab\there" };
	for (size_t i = 0; i < sizeof(datas) / sizeof(datas[0]); i++)
		for (size_t k = 0; k < sizeof(subjects) / sizeof(subjects[0]); k++) {
			struct cloud_event ev = { .id = "0b9e4f6c-1111-4222-8333-444455556666", .source = "/projects/p/environments/e",
			                          .type = "dev.cratis.resource.changed", .subject = (char *)subjects[k],
			                          .time = "2026-12-01T12:00:00.000Z", .data = (char *)datas[i] };
			char *fast = NULL, *slow = NULL;
			int rf = cloud_event_to_json(&ev, &fast), rs = cloud_event_to_json_slow(&ev, &slow);
			if (rf != rs || (fast == NULL) != (slow == NULL) || (fast && strcmp(fast, slow)))
				fail_msg("data %s subject %s: fast %d %s, jansson %d %s", datas[i] ? datas[i] : "NULL",
				         subjects[k] ? subjects[k] : "NULL", rf, fast ? fast : "NULL", rs, slow ? slow : "NULL");
			free(fast);
			free(slow);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_json_fast_path_matches_jansson),
		cmocka_unit_test_setup_teardown(test_dispatch_orders_per_subject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_honours_retry_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_dead_letters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_gone_disables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_filters, setup, teardown),
		cmocka_unit_test(test_dispatch_durations),
		cmocka_unit_test_setup_teardown(test_dispatch_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_sink_open, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
