/* The webhook sink: one HTTP POST per event with libcurl (opened on first use, src/util/curl_lazy.h),
 * CloudEvents HTTP protocol binding 1.0 (github.com/cloudevents/spec, cloudevents/bindings/
 * http-protocol-binding.md) in binary mode (section 3.1: ce-* headers, data as the body) or
 * structured mode (section 3.2: application/cloudevents+json), signed as Standard Webhooks says
 * (webhook-id, webhook-timestamp, webhook-signature; src/events/sign.c). Only http and https,
 * redirects are not followed, and nothing here logs the secret or the URL (it may carry
 * credentials). */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/sink_internal.h"
#include "util/buf.h"
#include "util/curl_lazy.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

#define WEBHOOK_EXCERPT 120   /* bytes of a failed response's body quoted in the message */

struct webhook_sink {
	struct sink base;
	const struct curl_api *c;
	CURL *curl;                    /* reused between events: keeps the connection alive */
	char errbuf[CURL_ERROR_SIZE];
	/* per attempt, filled by the callbacks */
	int64_t retry_after_s;         /* delta-seconds, or -1 */
	int64_t retry_after_at;        /* HTTP-date as Unix seconds, or -1 */
	char excerpt[WEBHOOK_EXCERPT + 1];
	size_t excerpt_len;
};

/* curl's header callback: picks Retry-After out of the response (the last response's wins). */
static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
	struct webhook_sink *w = ud;
	size_t len = size * n;
	static const char name[] = "retry-after:";
	if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {   /* a new response starts: forget the last */
		w->retry_after_s = -1;
		w->retry_after_at = -1;
		return len;
	}
	if (len <= sizeof name - 1 || len > 200)
		return len;
	for (size_t i = 0; i < sizeof name - 1; i++)
		if (tolower((unsigned char)line[i]) != name[i])
			return len;
	char value[200];
	size_t a = sizeof name - 1, b = len;
	while (a < b && (line[a] == ' ' || line[a] == '\t'))
		a++;
	while (b > a && isspace((unsigned char)line[b - 1]))
		b--;
	memcpy(value, line + a, b - a);
	value[b - a] = '\0';
	if (!value[0])
		return len;
	/* RFC 9110 section 10.2.3: delay-seconds (1*DIGIT) or an HTTP-date */
	bool digits = true;
	for (const char *p = value; *p; p++)
		digits = digits && *p >= '0' && *p <= '9';
	if (digits) {
		long long s = strlen(value) > 9 ? 999999999LL : strtoll(value, NULL, 10);
		w->retry_after_s = s;
	} else {
		time_t t = w->c->curl_getdate(value, NULL);
		if (t != (time_t)-1)
			w->retry_after_at = (int64_t)t;
	}
	return len;
}

/* curl's write callback: keeps the start of the body for the message, drops the rest. */
static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct webhook_sink *w = ud;
	size_t len = size * n;
	for (size_t i = 0; i < len && w->excerpt_len < WEBHOOK_EXCERPT; i++) {
		unsigned char ch = (unsigned char)data[i];
		w->excerpt[w->excerpt_len++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
	}
	w->excerpt[w->excerpt_len] = '\0';
	return len;
}

/* Append "name: value" to *list, value percent-encoded as the HTTP binding's section 3.1.3.2
 * asks for ce-* headers (bytes outside U+0021..U+007E, space, '"' and '%'). */
static int add_ce_header(const struct curl_api *c, struct curl_slist **list, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b;
	buf_init(&b);
	buf_addf(&b, "%s: ", name);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '%') {
			buf_addch(&b, '%');
			buf_addch(&b, hex[*p >> 4]);
			buf_addch(&b, hex[*p & 15]);
		} else {
			buf_addch(&b, (char)*p);
		}
	}
	struct curl_slist *next = c->curl_slist_append(*list, b.ptr);
	buf_release(&b);
	if (!next)
		return -1;
	*list = next;
	return 0;
}

/* Append a plain header line (name: value; value holds no CR/LF). */
static int add_header(const struct curl_api *c, struct curl_slist **list, const char *name, const char *value)
{
	struct buf b;
	buf_init(&b);
	buf_addf(&b, "%s: %s", name, value);
	for (size_t i = 0; i < b.len; i++)
		if (b.ptr[i] == '\r' || b.ptr[i] == '\n')
			b.ptr[i] = ' ';
	struct curl_slist *next = c->curl_slist_append(*list, b.ptr);
	buf_release(&b);
	if (!next)
		return -1;
	*list = next;
	return 0;
}

static void result_set(struct send_result *res, enum send_outcome outcome, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void result_set(struct send_result *res, enum send_outcome outcome, const char *fmt, ...)
{
	res->outcome = outcome;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof res->message, fmt, ap);
	va_end(ap);
}

/* The outcome of an HTTP status, as sink.h says: 2xx OK; 410 GONE; 408, 429 and 5xx RETRY;
 * anything else (other 4xx, and 1xx/3xx: redirects are not followed) REJECTED. */
static enum send_outcome status_outcome(long status)
{
	if (status >= 200 && status < 300)
		return SEND_OK;
	if (status == 410)
		return SEND_GONE;
	if (status == 408 || status == 429 || (status >= 500 && status < 600))
		return SEND_RETRY;
	return SEND_REJECTED;
}

static int webhook_send(struct sink *s, const struct cloud_event *ev, int64_t now, struct send_result *res)
{
	struct webhook_sink *w = (struct webhook_sink *)s;
	const struct sink_config *cfg = s->cfg;
	const struct curl_api *c = w->c;
	memset(res, 0, sizeof *res);
	res->retry_after_ms = -1;
	if (!ev->id || !*ev->id || !ev->source || !ev->type)
		return error_set(CRATIS_EINVAL, "sink %s: event without id, source or type", cfg->name ? cfg->name : "");

	/* the body, and the headers of the mode */
	char *body = NULL;
	size_t body_len = 0;
	struct curl_slist *h = NULL;
	int bad = 0;
	if (cfg->structured) {
		int rc = cloud_event_to_json(ev, &body);
		if (rc != CRATIS_OK)
			return rc;
		body_len = strlen(body);
		bad |= add_header(c, &h, "Content-Type", "application/cloudevents+json; charset=utf-8");
	} else {
		body = xstrdup(ev->data ? ev->data : "");
		body_len = strlen(body);
		bad |= add_ce_header(c, &h, "ce-specversion", "1.0");
		bad |= add_ce_header(c, &h, "ce-id", ev->id);
		bad |= add_ce_header(c, &h, "ce-source", ev->source);
		bad |= add_ce_header(c, &h, "ce-type", ev->type);
		if (ev->subject)
			bad |= add_ce_header(c, &h, "ce-subject", ev->subject);
		if (ev->time)
			bad |= add_ce_header(c, &h, "ce-time", ev->time);
		/* a header with no value stops curl from sending its form default */
		bad |= add_header(c, &h, "Content-Type", ev->datacontenttype ? ev->datacontenttype : "");
	}
	/* Standard Webhooks: the id is the event's (stable across retries: receivers dedupe on it) */
	int64_t ts = now / 1000;
	char tsbuf[24];
	snprintf(tsbuf, sizeof tsbuf, "%lld", (long long)ts);
	bad |= add_header(c, &h, "webhook-id", ev->id);
	bad |= add_header(c, &h, "webhook-timestamp", tsbuf);
	if (cfg->secret) {
		char *sig = NULL;
		int rc = webhook_sign(cfg->secret, ev->id, ts, body, body_len, &sig);
		if (rc != CRATIS_OK) {
			c->curl_slist_free_all(h);
			free(body);
			return error_prefix("sink %s", cfg->name ? cfg->name : "");
		}
		bad |= add_header(c, &h, "webhook-signature", sig);
		free(sig);
	}
	bad |= add_header(c, &h, "Expect", "");   /* no 100-continue round trip */
	bad |= add_header(c, &h, "User-Agent", "cratis/" CRATIS_CORE_VERSION);
	if (bad) {
		c->curl_slist_free_all(h);
		free(body);
		return error_set(CRATIS_ENOMEM, "sink %s: out of memory", cfg->name ? cfg->name : "");
	}

	long timeout = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	CURL *k = w->curl;
	w->errbuf[0] = '\0';
	w->retry_after_s = -1;
	w->retry_after_at = -1;
	w->excerpt_len = 0;
	w->excerpt[0] = '\0';
	c->curl_easy_setopt(k, CURLOPT_URL, cfg->url);
	c->curl_easy_setopt(k, CURLOPT_POST, 1L);
	c->curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
	c->curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	c->curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
	c->curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, timeout);
	c->curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	CURLcode cc = c->curl_easy_perform(k);
	long status = 0;
	if (cc == CURLE_OK)
		c->curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &status);
	c->curl_easy_setopt(k, CURLOPT_HTTPHEADER, NULL);
	c->curl_easy_setopt(k, CURLOPT_POSTFIELDS, NULL);
	c->curl_slist_free_all(h);
	free(body);

	if (cc != CURLE_OK) {
		const char *why = w->errbuf[0] ? w->errbuf : c->curl_easy_strerror(cc);
		/* a URL curl cannot use fails every event alike: permanent; anything else (refused,
		 * reset, timed out, TLS) may pass later */
		enum send_outcome o = cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT ? SEND_REJECTED
		                                                                                     : SEND_RETRY;
		if (cc == CURLE_OPERATION_TIMEDOUT)
			result_set(res, o, "no answer within %ld ms", timeout);
		else
			result_set(res, o, "%s", why);
		return CRATIS_OK;
	}
	res->http_status = (int)status;
	if (w->retry_after_s >= 0)
		res->retry_after_ms = w->retry_after_s * 1000;
	else if (w->retry_after_at >= 0)
		res->retry_after_ms = w->retry_after_at * 1000 > now ? w->retry_after_at * 1000 - now : 0;
	enum send_outcome o = status_outcome(status);
	if (o == SEND_OK) {
		res->outcome = SEND_OK;
		res->message[0] = '\0';
	} else if (w->excerpt_len) {
		result_set(res, o, "HTTP %ld: %s", status, w->excerpt);
	} else {
		result_set(res, o, "HTTP %ld", status);
	}
	return CRATIS_OK;
}

static void webhook_close(struct sink *s)
{
	struct webhook_sink *w = (struct webhook_sink *)s;
	if (w->curl)
		w->c->curl_easy_cleanup(w->curl);
	free(w);
}

static const struct sink_vtable webhook_vt = { webhook_send, webhook_close };

int sink_webhook_open(struct sink **out, const struct sink_config *cfg)
{
	*out = NULL;
	const char *name = cfg->name ? cfg->name : "";
	if (!cfg->url || (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0))
		return error_set(CRATIS_EINVAL, "sink %s: url: expected an http:// or https:// URL", name);
	if (cfg->timeout_ms < 0)
		return error_set(CRATIS_EINVAL, "sink %s: timeout: expected a positive duration", name);
	if (cfg->secret) {   /* a malformed secret fails here, naming the field, not at every send */
		char *sig = NULL;
		int rc = webhook_sign(cfg->secret, "check", 0, "", 0, &sig);
		free(sig);
		if (rc != CRATIS_OK)
			return error_prefix("sink %s", name);
	}
	const struct curl_api *c;
	if (curl_api_get(&c) != CRATIS_OK)
		return error_prefix("sink %s", name);
	struct webhook_sink *w = xmalloc(sizeof *w);
	memset(w, 0, sizeof *w);
	w->base.vt = &webhook_vt;
	w->base.cfg = cfg;
	w->c = c;
	w->curl = c->curl_easy_init();
	if (!w->curl) {
		free(w);
		return error_set(CRATIS_ENOMEM, "sink %s: curl_easy_init failed", name);
	}
	CURL *k = w->curl;
	c->curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
	c->curl_easy_setopt(k, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	c->curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 0L);
	c->curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
	c->curl_easy_setopt(k, CURLOPT_ERRORBUFFER, w->errbuf);
	c->curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, on_header);
	c->curl_easy_setopt(k, CURLOPT_HEADERDATA, w);
	c->curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
	c->curl_easy_setopt(k, CURLOPT_WRITEDATA, w);
	*out = &w->base;
	return CRATIS_OK;
}
