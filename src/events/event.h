/* CloudEvents 1.0 (https://github.com/cloudevents/spec, spec.md and formats/json-format.md): the
 * one event type that the outbox stores and every sink delivers. Events are built by the core in
 * the same store unit of work as the change they describe (src/state/store.h, struct
 * store_event), read back from the outbox with their sequence number, and handed to sinks
 * (src/events/sink.h). data never holds a secret in clear: only references ("${secret:NAME}") or
 * the marker "(sensitive)". */
#ifndef CRATIS_EVENT_H
#define CRATIS_EVENT_H

#include <stdint.h>

/* The event types cratis itself emits (reverse-DNS, docs/events.md lists each with its data). */
#define CRATIS_EVENT_PREFIX "dev.cratis."

/* One event as stored in the outbox. All strings are heap-owned by the event (cloud_event_free).
 * Required by CloudEvents: id, source, type, specversion ("1.0", implied). Optional: subject,
 * time, datacontenttype, data. */
struct cloud_event {
	int64_t seq;            /* outbox sequence number (ascending per store); 0 before it is stored */
	char *id;               /* UUID (RFC 9562 version 4, lowercase text) */
	char *source;           /* URI-reference: "/projects/P/environments/E" */
	char *type;             /* "dev.cratis.deployment.started", or a plugin's own type */
	char *subject;          /* the resource address ("Task/build") or NULL */
	char *time;             /* RFC 3339 UTC with milliseconds: "2026-12-01T11:51:52.123Z" */
	char *datacontenttype;  /* "application/json" when data is set, else NULL */
	char *data;             /* JSON text (an object), or NULL */
};

/* Free every string of ev and zero it; ev itself is not freed. NULL is ignored. */
void cloud_event_free(struct cloud_event *ev);

/* The event in the CloudEvents JSON format (formats/json-format.md section 3: "specversion":"1.0",
 * the attributes, and "data" as a JSON value, not a string), as one line of compact JSON with keys
 * in the order specversion, id, source, type, subject, time, datacontenttype, data. *out is
 * heap-owned by the caller. Returns CRATIS_OK; CRATIS_EINVAL when a required attribute is missing
 * or data is not JSON; CRATIS_ENOMEM. */
int cloud_event_to_json(const struct cloud_event *ev, char **out);
/* The same through jansson alone (parse data, build the object, dump it): what
 * cloud_event_to_json's fast path, which splices data that is already in jansson's compact form,
 * must agree with byte for byte. For tests; same returns. */
int cloud_event_to_json_slow(const struct cloud_event *ev, char **out);

/* A new event id: a UUID version 4 (RFC 9562 section 5.4: 122 random bits from getrandom, version
 * and variant bits set) as 36 lowercase characters and a NUL into out. Returns CRATIS_OK, or
 * CRATIS_EIO when the kernel has no randomness to give (getrandom failed). */
int cloud_event_new_id(char out[37]);

/* Format ms since the Unix epoch as RFC 3339 UTC with milliseconds ("2026-12-01T11:51:52.123Z")
 * into out. */
void cloud_event_format_time(int64_t ms, char out[32]);

/* Whether value matches filter pattern: exact, or a prefix when the pattern ends in '*' ("*"
 * matches everything, NULL value included; no other pattern matches a NULL value). */
int cloud_event_match(const char *pattern, const char *value);

#endif
