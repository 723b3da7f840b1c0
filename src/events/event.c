/* CloudEvents: ids, times, and the JSON format (event.h). */
#define _GNU_SOURCE
#include "events/event.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

void cloud_event_free(struct cloud_event *ev)
{
	if (!ev)
		return;
	free(ev->id);
	free(ev->source);
	free(ev->type);
	free(ev->subject);
	free(ev->time);
	free(ev->datacontenttype);
	free(ev->data);
	memset(ev, 0, sizeof(*ev));
}

int cloud_event_new_id(char out[37])
{
	unsigned char b[16];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n <= 0) {
			out[0] = 0;
			return error_set(CRATIS_EIO, "cannot make an event id: getrandom failed");
		}
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10 */
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		snprintf(out + o, 3, "%02x", b[i]);
		o += 2;
	}
	out[o] = 0;
	return CRATIS_OK;
}

void cloud_event_format_time(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char base[24];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%s.%03dZ", base, (int)(ms % 1000));
}

int cloud_event_match(const char *pattern, const char *value)
{
	size_t n = strlen(pattern);
	if (n && pattern[n - 1] == '*')
		return n == 1 || (value && !strncmp(pattern, value, n - 1));
	return value && !strcmp(pattern, value);
}

/* ---- the fast path of cloud_event_to_json ----
 * Delivery encodes every event once per sink; parsing data with jansson and dumping the whole
 * object again was two thirds of a delivery's instructions (callgrind, bench/outbox.sh). The
 * outbox's data is text json_dumps wrote (compact), so most events are spliced as they are: the
 * scanner below accepts exactly the compact JSON jansson writes for ASCII text, integers and the
 * plain escapes, and anything else (whitespace, reals, \u escapes, non-ASCII bytes, duplicate
 * keys, deep nesting) takes the jansson path, whose output is the same for what the scanner
 * accepts (tests/unit/test_dispatch.c compares both). */

#define FAST_MAX_DEPTH 64
#define FAST_MAX_KEYS 64 /* per object: more goes the jansson way */

/* A string at *p (starting at the quote) as jansson writes it: ASCII >= 0x20 and the escapes
 * \" \\ \b \f \n \r \t. Advances *p past it. */
static int scan_string(const char **p)
{
	const char *s = *p + 1;
	for (;;) {
		unsigned char c = (unsigned char)*s;
		if (c == '"') {
			*p = s + 1;
			return 1;
		}
		if (c < 0x20 || c >= 0x80)
			return 0;
		if (c == '\\') {
			if (!strchr("\"\\bfnrt", s[1]) || !s[1])
				return 0;
			s += 2;
			continue;
		}
		s++;
	}
}

static int scan_value(const char **p, int depth);

static int scan_number(const char **p)
{
	const char *s = *p;
	if (*s == '-' && s[1] == '0')
		return 0; /* -0: jansson writes 0 */
	if (*s == '-')
		s++;
	const char *digits = s;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (s - digits > 18 || *s == '.' || *s == 'e' || *s == 'E')
		return 0; /* beyond int64 for sure, or a real: jansson's own formatting decides */
	*p = s;
	return 1;
}

static int scan_value(const char **p, int depth)
{
	const char *s = *p;
	if (depth > FAST_MAX_DEPTH)
		return 0;
	switch (*s) {
	case '"':
		return scan_string(p);
	case '{':
	case '[': {
		char close = *s == '{' ? '}' : ']';
		s++;
		if (*s == close) {
			*p = s + 1;
			return 1;
		}
		const char *key[FAST_MAX_KEYS];
		size_t keylen[FAST_MAX_KEYS], nkeys = 0;
		for (;;) {
			if (close == '}') {
				const char *k = s;
				if (*s != '"' || !scan_string(&s) || nkeys == FAST_MAX_KEYS)
					return 0;
				/* a duplicate key: jansson keeps the last one */
				for (size_t i = 0; i < nkeys; i++)
					if (keylen[i] == (size_t)(s - k) && !memcmp(key[i], k, keylen[i]))
						return 0;
				key[nkeys] = k, keylen[nkeys++] = (size_t)(s - k);
				if (*s++ != ':')
					return 0;
			}
			if (!scan_value(&s, depth + 1))
				return 0;
			if (*s == ',') {
				s++;
				continue;
			}
			if (*s != close)
				return 0;
			*p = s + 1;
			return 1;
		}
	}
	case 't':
		return !strncmp(s, "true", 4) ? (*p = s + 4, 1) : 0;
	case 'f':
		return !strncmp(s, "false", 5) ? (*p = s + 5, 1) : 0;
	case 'n':
		return !strncmp(s, "null", 4) ? (*p = s + 4, 1) : 0;
	default:
		return scan_number(p);
	}
}

/* Whether text is one JSON value that jansson's compact dump reproduces byte for byte. */
static int compact_as_jansson(const char *text)
{
	const char *p = text;
	return scan_value(&p, 0) && !*p;
}

/* s as a JSON string into b, or 0 when jansson would write it otherwise (control characters,
 * non-ASCII bytes: the slow path decides). */
static int add_string(struct buf *b, const char *s)
{
	buf_addch(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c >= 0x80)
			return 0;
		if (c == '"' || c == '\\')
			buf_addch(b, '\\');
		buf_addch(b, (char)c);
	}
	buf_addch(b, '"');
	return 1;
}

static char *fast_json(const struct cloud_event *ev)
{
	if (ev->data && !compact_as_jansson(ev->data))
		return NULL;
	struct buf b = BUF_INIT;
	int ok = 1;
	buf_adds(&b, "{\"specversion\":\"1.0\",\"id\":");
	ok = ok && add_string(&b, ev->id);
	buf_adds(&b, ",\"source\":");
	ok = ok && add_string(&b, ev->source);
	buf_adds(&b, ",\"type\":");
	ok = ok && add_string(&b, ev->type);
	if (ev->subject) {
		buf_adds(&b, ",\"subject\":");
		ok = ok && add_string(&b, ev->subject);
	}
	if (ev->time) {
		buf_adds(&b, ",\"time\":");
		ok = ok && add_string(&b, ev->time);
	}
	if (ev->data) {
		buf_adds(&b, ",\"datacontenttype\":");
		ok = ok && add_string(&b, ev->datacontenttype ? ev->datacontenttype : "application/json");
		buf_adds(&b, ",\"data\":");
		buf_adds(&b, ev->data);
	}
	buf_addch(&b, '}');
	if (!ok) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

int cloud_event_to_json(const struct cloud_event *ev, char **out)
{
	*out = NULL;
	if (!ev->id || !*ev->id || !ev->source || !*ev->source || !ev->type || !*ev->type)
		return error_set(CRATIS_EINVAL, "event %s: id, source and type are required", ev->id ? ev->id : "(no id)");
	if ((*out = fast_json(ev)))
		return CRATIS_OK;
	return cloud_event_to_json_slow(ev, out);
}

int cloud_event_to_json_slow(const struct cloud_event *ev, char **out)
{
	*out = NULL;
	if (!ev->id || !*ev->id || !ev->source || !*ev->source || !ev->type || !*ev->type)
		return error_set(CRATIS_EINVAL, "event %s: id, source and type are required", ev->id ? ev->id : "(no id)");
	json_t *data = NULL;
	if (ev->data) {
		json_error_t je;
		data = json_loads(ev->data, JSON_DECODE_ANY, &je);
		if (!data)
			return error_set(CRATIS_EINVAL, "event %s: data is not JSON: %s", ev->id, je.text);
	}
	json_t *o = json_object();
	json_object_set_new(o, "specversion", json_string("1.0"));
	json_object_set_new(o, "id", json_string(ev->id));
	json_object_set_new(o, "source", json_string(ev->source));
	json_object_set_new(o, "type", json_string(ev->type));
	if (ev->subject)
		json_object_set_new(o, "subject", json_string(ev->subject));
	if (ev->time)
		json_object_set_new(o, "time", json_string(ev->time));
	if (data)
		json_object_set_new(o, "datacontenttype", json_string(ev->datacontenttype ? ev->datacontenttype : "application/json"));
	if (data)
		json_object_set_new(o, "data", data);
	*out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!*out)
		return error_set(CRATIS_ENOMEM, "event %s: out of memory encoding it", ev->id);
	return CRATIS_OK;
}
