/* The file sink: NDJSON, one CloudEvents JSON line appended per event and fsync'd, so that a log
 * shipper tailing the file sees each delivered event whole. The file is created 0600. */
#define _GNU_SOURCE
#include "events/sink_file.h"
#include "events/sink_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/util.h"
#include "banned.h"

struct file_sink {
	struct sink pub;
	int fd;
	bool defer;   /* sink_file_defer_sync: fsync in sink_file_sync only */
	bool dirty;   /* written since the last fsync */
};

static const struct sink_vtable file_vt;

void sink_file_defer_sync(struct sink *s, bool defer)
{
	if (s->vt == &file_vt)
		((struct file_sink *)s)->defer = defer;
}

int sink_file_sync(struct sink *s)
{
	if (s->vt != &file_vt)
		return CRATIS_OK;
	struct file_sink *f = (struct file_sink *)s;
	if (!f->dirty)
		return CRATIS_OK;
	if (fsync(f->fd) != 0)
		return error_set(CRATIS_EIO, "cannot fsync %s: %s", s->cfg->path, strerror(errno));
	f->dirty = false;
	return CRATIS_OK;
}

static int file_send(struct sink *s, const struct cloud_event *ev, int64_t now, struct send_result *res)
{
	(void)now;
	struct file_sink *f = (struct file_sink *)s;
	char *line;
	int rc = cloud_event_to_json(ev, &line);
	if (rc)
		return rc;
	size_t len = strlen(line);
	char *buf = xasprintf("%s\n", line);
	free(line);
	len++;
	/* one write of the whole line: O_APPEND keeps concurrent writers' lines apart */
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(f->fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			res->outcome = SEND_RETRY;
			snprintf(res->message, sizeof(res->message), "cannot append to %s: %s", s->cfg->path, strerror(errno));
			free(buf);
			return CRATIS_OK;
		}
		off += (size_t)w;
	}
	free(buf);
	f->dirty = true;
	if (f->defer) {
		res->outcome = SEND_OK;
		return CRATIS_OK;
	}
	if (fsync(f->fd) != 0) {
		res->outcome = SEND_RETRY;
		snprintf(res->message, sizeof(res->message), "cannot fsync %s: %s", s->cfg->path, strerror(errno));
		return CRATIS_OK;
	}
	f->dirty = false;
	res->outcome = SEND_OK;
	return CRATIS_OK;
}

static void file_close(struct sink *s)
{
	struct file_sink *f = (struct file_sink *)s;
	close(f->fd);
	free(f);
}

static const struct sink_vtable file_vt = { file_send, file_close };

int sink_file_open(struct sink **out, const struct sink_config *cfg)
{
	*out = NULL;
	if (!cfg->path || !*cfg->path)
		return error_set(CRATIS_EINVAL, "sink '%s': a file sink needs path", cfg->name);
	int fd = open(cfg->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_set(CRATIS_EIO, "sink '%s': cannot open %s: %s", cfg->name, cfg->path, strerror(errno));
	struct file_sink *f = xcalloc(1, sizeof(*f));
	f->pub.vt = &file_vt;
	f->pub.cfg = cfg;
	f->fd = fd;
	*out = &f->pub;
	return CRATIS_OK;
}
