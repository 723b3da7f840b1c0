/* The file sink's group commit, for the dispatcher (not a sink.h contract change: a sink opened
 * by sink_open fsyncs each line, as sink.h says, until told otherwise here). */
#ifndef CRATIS_SINK_FILE_H
#define CRATIS_SINK_FILE_H

#include <stdbool.h>

#include "events/sink.h"

/* For a file sink s (any other sink: no-op): when defer is true, sink_send writes each line without
 * fsync and sink_file_sync makes every line written so far durable; the caller then must call
 * sink_file_sync before it counts those events as delivered. */
void sink_file_defer_sync(struct sink *s, bool defer);

/* fsync what file sink s wrote since the last sync (any other sink: CRATIS_OK). Returns CRATIS_OK, or CRATIS_EIO (message naming the
 * file) when it cannot: the lines since the last sync may be lost and must be sent again. */
int sink_file_sync(struct sink *s);

#endif
