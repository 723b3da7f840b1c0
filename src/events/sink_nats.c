/* The NATS sink: one JetStream publish per event with libnats (Debian libnats-dev; opened on first
 * use, src/util/dynlib.h, like libpq). Subject = prefix + event type; the body is the event in the
 * CloudEvents JSON format (structured mode, Content-Type application/cloudevents+json); the
 * Nats-Msg-Id header is the event id, so that within the stream's duplicate window the server
 * stores a redelivered event once; the publish ack is awaited (timeout_ms), and only an ack is
 * SEND_OK. The connection does not reconnect on its own: a send that finds it lost drops it and
 * connects again, so a publish is never buffered behind cratis's back. */
#include <errno.h>
#include <nats/nats.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/sink_internal.h"
#include "util/buf.h"
#include "util/dynlib.h"
#include "util/error.h"
#include "util/util.h"
#include "banned.h"

#if !defined(CRATIS_LIBNATS_SONAME) || !defined(CRATIS_LIBNATS_PACKAGE)
#error "meson.build defines CRATIS_LIBNATS_SONAME and CRATIS_LIBNATS_PACKAGE"
#endif

#define NATS_FUNCTIONS(X) \
	X(natsOptions_Create) X(natsOptions_SetURL) X(natsOptions_SetTimeout) X(natsOptions_SetAllowReconnect) \
	X(natsOptions_SetUserCredentialsFromFiles) X(natsOptions_Destroy) X(natsConnection_Connect) \
	X(natsConnection_Status) X(natsConnection_Destroy) X(natsConnection_JetStream) X(jsOptions_Init) \
	X(jsCtx_Destroy) X(jsPubOptions_Init) X(js_PublishMsg) X(jsPubAck_Destroy) X(natsMsg_Create) \
	X(natsMsgHeader_Set) X(natsMsg_Destroy) X(natsStatus_GetText) X(nats_GetLastError)

struct nats_api {
#define NATS_MEMBER(name) __typeof__(name) *name;
	NATS_FUNCTIONS(NATS_MEMBER)
#undef NATS_MEMBER
};

/* Filled once by nats_load (under nats_once) and only read after. */
static struct {
	struct dynlib lib;
	struct nats_api fn;
} nats_lib;
static pthread_once_t nats_once = PTHREAD_ONCE_INIT;

static void nats_load(void)
{
	if (dynlib_open(&nats_lib.lib, "libnats", CRATIS_LIBNATS_SONAME, CRATIS_LIBNATS_PACKAGE))
		return;
#define NATS_RESOLVE(name) nats_lib.fn.name = (__typeof__(nats_lib.fn.name))dynlib_sym(&nats_lib.lib, #name);
	NATS_FUNCTIONS(NATS_RESOLVE)
#undef NATS_RESOLVE
}

struct nats_sink {
	struct sink base;
	const struct nats_api *n;
	natsConnection *nc;   /* NULL while not connected */
	jsCtx *js;
};

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

/* libnats's text for s, with its last error's detail when it has one. */
static void nats_why(const struct nats_api *n, natsStatus s, char *out, size_t cap)
{
	natsStatus last = NATS_OK;
	const char *detail = n->nats_GetLastError(&last);
	if (detail && *detail && last == s) {
		/* libnats prefixes its source location: "(js.c:535): expected stream does not match" */
		if (detail[0] == '(') {
			const char *end = strstr(detail, "): ");
			if (end)
				detail = end + 3;
		}
		snprintf(out, cap, "%s", detail);
	}
	else
		snprintf(out, cap, "%s", n->natsStatus_GetText(s));
}

static void nats_drop(struct nats_sink *ns)
{
	if (ns->js)
		ns->n->jsCtx_Destroy(ns->js);
	if (ns->nc)
		ns->n->natsConnection_Destroy(ns->nc);
	ns->js = NULL;
	ns->nc = NULL;
}

/* Connect and make the JetStream context. Returns NATS_OK, or the failure (why in out). */
static natsStatus nats_connect(struct nats_sink *ns, char *why, size_t cap)
{
	const struct nats_api *n = ns->n;
	const struct sink_config *cfg = ns->base.cfg;
	int timeout = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
	natsOptions *o = NULL;
	natsStatus s = n->natsOptions_Create(&o);
	if (s == NATS_OK)
		s = n->natsOptions_SetURL(o, cfg->nats_url);
	if (s == NATS_OK)
		s = n->natsOptions_SetTimeout(o, timeout);
	if (s == NATS_OK)
		s = n->natsOptions_SetAllowReconnect(o, false);
	if (s == NATS_OK && cfg->creds_file)
		s = n->natsOptions_SetUserCredentialsFromFiles(o, cfg->creds_file, NULL);
	if (s == NATS_OK)
		s = n->natsConnection_Connect(&ns->nc, o);
	if (s == NATS_OK) {
		jsOptions jo;
		n->jsOptions_Init(&jo);
		jo.Wait = timeout;
		s = n->natsConnection_JetStream(&ns->js, ns->nc, &jo);
	}
	if (s != NATS_OK) {
		nats_why(n, s, why, cap);
		nats_drop(ns);
	}
	if (o)
		n->natsOptions_Destroy(o);
	return s;
}

/* Whether a failed publish may pass later: everything but a message the server can never take. */
static bool nats_transient(natsStatus s, jsErrCode jerr)
{
	switch (s) {
	case NATS_INVALID_ARG:
	case NATS_INVALID_SUBJECT:
	case NATS_MAX_PAYLOAD:
		return false;
	default:
		break;
	}
	/* the stream that answered is not the one the sink expects: a configuration error */
	return jerr != JSStreamNotMatchErr;
}

static int nats_send(struct sink *s, const struct cloud_event *ev, int64_t now, struct send_result *res)
{
	(void)now;
	struct nats_sink *ns = (struct nats_sink *)s;
	const struct nats_api *n = ns->n;
	const struct sink_config *cfg = s->cfg;
	memset(res, 0, sizeof *res);
	res->retry_after_ms = -1;
	char *body = NULL;
	int rc = cloud_event_to_json(ev, &body);
	if (rc != CRATIS_OK)
		return rc;
	struct buf subj;
	buf_init(&subj);
	buf_adds(&subj, cfg->subject_prefix ? cfg->subject_prefix : "cratis.");
	buf_adds(&subj, ev->type);
	for (size_t i = 0; i < subj.len; i++) {
		char ch = subj.ptr[i];
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '*' || ch == '>' ||
		    (ch == '.' && (i == 0 || i + 1 == subj.len || subj.ptr[i + 1] == '.'))) {
			result_set(res, SEND_REJECTED, "subject \"%s\" is not a valid NATS subject", subj.ptr);
			buf_release(&subj);
			free(body);
			return CRATIS_OK;
		}
	}

	char why[200];
	natsStatus st = NATS_OK;
	if (ns->nc && n->natsConnection_Status(ns->nc) != NATS_CONN_STATUS_CONNECTED)
		nats_drop(ns);
	if (!ns->nc)
		st = nats_connect(ns, why, sizeof why);
	if (st != NATS_OK) {
		result_set(res, SEND_RETRY, "cannot connect: %s", why);
		buf_release(&subj);
		free(body);
		return CRATIS_OK;
	}
	natsMsg *msg = NULL;
	jsPubAck *ack = NULL;
	jsErrCode jerr = 0;
	st = n->natsMsg_Create(&msg, subj.ptr, NULL, body, (int)strlen(body));
	if (st == NATS_OK)
		st = n->natsMsgHeader_Set(msg, "Content-Type", "application/cloudevents+json");
	if (st == NATS_OK) {
		jsPubOptions po;
		n->jsPubOptions_Init(&po);
		po.MsgId = ev->id;
		po.MaxWait = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
		po.ExpectStream = cfg->stream;
		st = n->js_PublishMsg(&ack, ns->js, msg, &po, &jerr);
	}
	if (st == NATS_OK) {
		res->outcome = SEND_OK;
	} else {
		nats_why(n, st, why, sizeof why);
		bool transient = nats_transient(st, jerr);
		if (jerr)
			result_set(res, transient ? SEND_RETRY : SEND_REJECTED, "publish to %s: %s (JetStream error %d)",
			            subj.ptr, why, (int)jerr);
		else
			result_set(res, transient ? SEND_RETRY : SEND_REJECTED, "publish to %s: %s", subj.ptr, why);
		/* a lost or stale connection is remade by the next send */
		if (n->natsConnection_Status(ns->nc) != NATS_CONN_STATUS_CONNECTED)
			nats_drop(ns);
	}
	if (ack)
		n->jsPubAck_Destroy(ack);
	if (msg)
		n->natsMsg_Destroy(msg);
	buf_release(&subj);
	free(body);
	return CRATIS_OK;
}

static void nats_close(struct sink *s)
{
	struct nats_sink *ns = (struct nats_sink *)s;
	nats_drop(ns);
	free(ns);
}

static const struct sink_vtable nats_vt = { nats_send, nats_close };

int sink_nats_open(struct sink **out, const struct sink_config *cfg)
{
	*out = NULL;
	const char *name = cfg->name ? cfg->name : "";
	if (!cfg->nats_url || (strncmp(cfg->nats_url, "nats://", 7) != 0 && strncmp(cfg->nats_url, "tls://", 6) != 0))
		return error_set(CRATIS_EINVAL, "sink %s: url: expected a nats:// or tls:// URL", name);
	if (cfg->timeout_ms < 0)
		return error_set(CRATIS_EINVAL, "sink %s: timeout: expected a positive duration", name);
	if (cfg->creds_file && access(cfg->creds_file, R_OK) != 0)
		return error_set(CRATIS_EINVAL, "sink %s: creds_file: cannot read %s: %s", name, cfg->creds_file,
		                 strerror(errno));
	if (dynlib_load_once(&nats_once, nats_load, &nats_lib.lib) != CRATIS_OK)
		return error_prefix("sink %s", name);
	struct nats_sink *ns = xmalloc(sizeof *ns);
	memset(ns, 0, sizeof *ns);
	ns->base.vt = &nats_vt;
	ns->base.cfg = cfg;
	ns->n = &nats_lib.fn;
	/* an unreachable server is not an error here: the first send reports SEND_RETRY */
	char why[200];
	(void)nats_connect(ns, why, sizeof why);
	*out = &ns->base;
	return CRATIS_OK;
}
