/* Test driver of the event sinks (tests/e2e/events_webhook.sh, events_nats.sh, bench/events.sh):
 * opens one webhook or NATS sink from the command line and sends generated events through it with
 * the retry schedule of sink_backoff_ms, a tiny loop standing in for the dispatcher (one event at
 * a time, in order; SEND_GONE stops the sink, SEND_REJECTED and max_attempts dead-letter the
 * event). It also creates a JetStream stream and reads one back (libnats directly), so the tests
 * need no nats CLI.
 *
 *   sinkdrive --kind webhook|nats --url URL [--structured] [--secret S] [--prefix P] [--stream S]
 *             [--creds FILE] [--count N] [--start K] [--type T] [--timeout-ms MS]
 *             [--backoff-initial-ms MS] [--backoff-max-ms MS] [--max-attempts N] [--interval-ms MS]
 *             [--quiet]
 *   sinkdrive --create-stream NAME --subjects SUBJ --url nats://...
 *   sinkdrive --read NAME --url nats://...     one line per message: "SEQ SUBJECT MSGID"
 *   sinkdrive --raw-publish N --url nats://...  the reference of bench/events.sh: N js_Publish
 *             calls straight through libnats (same subject, a body of the same size, MsgId set,
 *             each ack awaited), "published N in MS ms"
 *
 * Event i (from --start, default 1) has id 00000000-0000-4000-8000-<i as 12 digits>, subject
 * Task/t<i> and data {"n":i}. Output: one line per attempt that failed ("retry ID ...") and one
 * per event ("ok ID attempts=N [duplicate]", "rejected ID ...", "dead ID ...", "gone ID ..."),
 * then "delivered D of N in MS ms". Exit 0 when every event was delivered, 1 otherwise, 2 on a
 * usage or setup error. */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events/sink_internal.h"
#include "util/error.h"

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int usage(void)
{
	fprintf(stderr, "usage: sinkdrive --kind webhook|nats --url URL [options] | --create-stream NAME "
	                "--subjects S --url U | --read NAME --url U\n");
	return 2;
}

static int nats_fail(const char *what, natsStatus s, jsErrCode jerr)
{
	fprintf(stderr, "sinkdrive: %s: %s (JetStream error %d)\n", what, natsStatus_GetText(s), (int)jerr);
	return 2;
}

/* --create-stream / --read / --raw-publish: libnats directly. */
static int stream_tool(const char *url, const char *create, const char *subjects, const char *read, long raw)
{
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsErrCode jerr = 0;
	natsStatus s = natsConnection_ConnectTo(&nc, url);
	if (s != NATS_OK)
		return nats_fail("connect", s, 0);
	s = natsConnection_JetStream(&js, nc, NULL);
	if (s != NATS_OK)
		return nats_fail("JetStream", s, 0);
	int rc = 0;
	if (create) {
		jsStreamConfig sc;
		jsStreamConfig_Init(&sc);
		sc.Name = create;
		const char *subj[1] = { subjects };
		sc.Subjects = subj;
		sc.SubjectsLen = 1;
		sc.Storage = js_FileStorage;
		sc.Duplicates = (int64_t)600 * 1000000000LL;   /* 10 min duplicate window, in ns */
		jsStreamInfo *si = NULL;
		s = js_AddStream(&si, js, &sc, NULL, &jerr);
		if (s != NATS_OK)
			rc = nats_fail("add stream", s, jerr);
		jsStreamInfo_Destroy(si);
	} else if (raw > 0) {
		/* a body as long as the sink's CloudEvents JSON of the same event */
		static const char body[] = "{\"specversion\":\"1.0\",\"id\":\"00000000-0000-4000-8000-000000000001\","
		                           "\"source\":\"/projects/demo/environments/staging\",\"type\":\"dev.cratis."
		                           "resource.changed\",\"subject\":\"Task/t1\",\"time\":\"2026-12-01T12:00:"
		                           "00.000Z\",\"datacontenttype\":\"application/json\",\"data\":{\"n\":1}}";
		int64_t t0 = mono_ms();
		for (long i = 1; i <= raw && rc == 0; i++) {
			char id[48];
			snprintf(id, sizeof id, "raw-%ld-%lld", i, (long long)t0);
			jsPubOptions po;
			jsPubOptions_Init(&po);
			po.MsgId = id;
			jsPubAck *pa = NULL;
			s = js_Publish(&pa, js, "cratis.dev.cratis.resource.changed", body, (int)sizeof body - 1, &po, &jerr);
			if (s != NATS_OK)
				rc = nats_fail("publish", s, jerr);
			jsPubAck_Destroy(pa);
		}
		printf("published %ld in %lld ms\n", raw, (long long)(mono_ms() - t0));
	} else {
		jsStreamInfo *si = NULL;
		s = js_GetStreamInfo(&si, js, read, NULL, &jerr);
		if (s != NATS_OK) {
			rc = nats_fail("stream info", s, jerr);
		} else {
			for (uint64_t seq = si->State.FirstSeq; seq && seq <= si->State.LastSeq; seq++) {
				natsMsg *m = NULL;
				s = js_GetMsg(&m, js, read, seq, NULL, &jerr);
				if (s != NATS_OK) {
					rc = nats_fail("get message", s, jerr);
					break;
				}
				const char *id = NULL;
				if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) != NATS_OK)
					id = "-";
				printf("%llu %s %s\n", (unsigned long long)seq, natsMsg_GetSubject(m), id);
				natsMsg_Destroy(m);
			}
			jsStreamInfo_Destroy(si);
		}
	}
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	nats_Close();
	return rc;
}

int main(int argc, char **argv)
{
	struct sink_config cfg = { 0 };
	cfg.timeout_ms = 10000;
	cfg.max_attempts = 12;
	cfg.backoff_initial_ms = 1000;
	cfg.backoff_max_ms = 300000;
	const char *kind = NULL, *url = NULL, *create = NULL, *subjects = NULL, *read = NULL;
	const char *type = "dev.cratis.resource.changed";
	long count = 10, start = 1, interval = 0, raw = 0;
	int quiet = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && ++i)
		if (strcmp(a, "--structured") == 0)
			cfg.structured = true;
		else if (strcmp(a, "--quiet") == 0)
			quiet = 1;
		else if (OPT("--kind"))
			kind = v;
		else if (OPT("--url"))
			url = v;
		else if (OPT("--secret"))
			cfg.secret = (char *)v;
		else if (OPT("--prefix"))
			cfg.subject_prefix = (char *)v;
		else if (OPT("--stream"))
			cfg.stream = (char *)v;
		else if (OPT("--creds"))
			cfg.creds_file = (char *)v;
		else if (OPT("--type"))
			type = v;
		else if (OPT("--count"))
			count = strtol(v, NULL, 10);
		else if (OPT("--interval-ms"))
			interval = strtol(v, NULL, 10);
		else if (OPT("--start"))
			start = strtol(v, NULL, 10);
		else if (OPT("--timeout-ms"))
			cfg.timeout_ms = atoi(v);
		else if (OPT("--backoff-initial-ms"))
			cfg.backoff_initial_ms = strtoll(v, NULL, 10);
		else if (OPT("--backoff-max-ms"))
			cfg.backoff_max_ms = strtoll(v, NULL, 10);
		else if (OPT("--max-attempts"))
			cfg.max_attempts = atoi(v);
		else if (OPT("--create-stream"))
			create = v;
		else if (OPT("--subjects"))
			subjects = v;
		else if (OPT("--read"))
			read = v;
		else if (OPT("--raw-publish"))
			raw = strtol(v, NULL, 10);
		else
			return usage();
#undef OPT
	}
	if (!url)
		return usage();
	if (create || read || raw > 0)
		return create && !subjects ? usage() : stream_tool(url, create, subjects, read, raw);
	cfg.name = (char *)"drive";
	struct sink *s = NULL;
	int rc;
	if (kind && strcmp(kind, "webhook") == 0) {
		cfg.kind = SINK_WEBHOOK;
		cfg.url = (char *)url;
		rc = sink_webhook_open(&s, &cfg);
	} else if (kind && strcmp(kind, "nats") == 0) {
		cfg.kind = SINK_NATS;
		cfg.nats_url = (char *)url;
		rc = sink_nats_open(&s, &cfg);
	} else {
		return usage();
	}
	if (rc != CRATIS_OK) {
		fprintf(stderr, "sinkdrive: %s\n", cratis_error_last()->message);
		return 2;
	}
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	long delivered = 0;
	int gone = 0;
	int64_t t0 = mono_ms();
	for (long i = start; i < start + count && !gone; i++) {
		char id[48], subject[32], data[32], when[40];
		snprintf(id, sizeof id, "00000000-0000-4000-8000-%012ld", i);
		snprintf(subject, sizeof subject, "Task/t%ld", i);
		snprintf(data, sizeof data, "{\"n\":%ld}", i);
		int64_t now = wall_ms();
		time_t secs = (time_t)(now / 1000);
		struct tm tm;
		gmtime_r(&secs, &tm);
		char base[24];
		strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(when, sizeof when, "%s.%03dZ", base, (int)(now % 1000));
		struct cloud_event ev = { .seq = i, .id = id, .source = (char *)"/projects/demo/environments/staging",
		                          .type = (char *)type, .subject = subject, .time = when,
		                          .datacontenttype = (char *)"application/json", .data = data };
		for (int attempt = 1;; attempt++) {
			struct send_result res;
			rc = s->vt->send(s, &ev, wall_ms(), &res);
			if (rc != CRATIS_OK) {
				fprintf(stderr, "sinkdrive: %s\n", cratis_error_last()->message);
				s->vt->close(s);
				return 2;
			}
			if (res.outcome == SEND_OK) {
				delivered++;
				if (!quiet)
					printf("ok %s attempts=%d\n", id, attempt);
				break;
			}
			if (res.outcome == SEND_GONE) {
				printf("gone %s status=%d %s\n", id, res.http_status, res.message);
				gone = 1;
				break;
			}
			if (res.outcome == SEND_REJECTED) {
				printf("rejected %s status=%d %s\n", id, res.http_status, res.message);
				break;
			}
			if (attempt >= cfg.max_attempts) {
				printf("dead %s attempts=%d %s\n", id, attempt, res.message);
				break;
			}
			int64_t wait = sink_backoff_ms(&cfg, attempt, res.retry_after_ms, xorshift(&seed));
			printf("retry %s status=%d retry_after_ms=%lld wait=%lld %s\n", id, res.http_status,
			       (long long)res.retry_after_ms, (long long)wait, res.message);
			fflush(stdout);
			sleep_ms(wait);
		}
		fflush(stdout);
		if (interval > 0)
			sleep_ms(interval);
	}
	int64_t took = mono_ms() - t0;
	printf("delivered %ld of %ld in %lld ms\n", delivered, count, (long long)took);
	s->vt->close(s);
	return delivered == count ? 0 : 1;
}
