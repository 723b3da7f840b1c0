/* CloudEvents: ids, times, and the JSON format (event.h). */
#define _GNU_SOURCE
#include "events/event.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

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

int cloud_event_to_json(const struct cloud_event *ev, char **out)
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
